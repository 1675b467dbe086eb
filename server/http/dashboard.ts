import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { NotFoundError, PaasError } from '../../lib/errors.js';

/** What the dashboard's pages may load and do: only this origin's own files and API, never framed. */
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** An asset's name as the build makes them (`app-<hash>.js`): no dot file, no directory, no `..`. */
const ASSET_NAME = /^[\w-][\w.-]{0,200}$/;

/** `/v1` and git's `/<app>.git/…`: theirs, never the dashboard's, whatever they accept (in any case: express routes ignore it). */
const NOT_OURS = /^\/(v1(\/|$)|[^/]+\.git(\/|$))/i;

const gzip = promisify(zlib.gzip);

async function readIfThere(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
    throw err;
  }
}

/**
 * Sends a dashboard file: gzipped when the client takes it (the build's `.gz` sibling, else
 * compressed here), with the headers every dashboard answer has. Express answers HEAD and
 * If-None-Match (its ETag) from the buffer.
 */
async function sendFile(req: Request, res: Response, file: string, body: Buffer, cacheControl: string): Promise<void> {
  res.set({ 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': cacheControl, Vary: 'Accept-Encoding' });
  res.type(TYPES[path.extname(file)] ?? 'application/octet-stream');
  if (req.acceptsEncodings('gzip', 'identity') === 'gzip') {
    res.set('Content-Encoding', 'gzip');
    return void res.send((await readIfThere(`${file}.gz`)) ?? (await gzip(body)));
  }
  res.send(body);
}

/**
 * The web dashboard (issue 27) on the API port: `/assets/*` are the build's content-hashed files
 * (cached for a year), and any other GET or HEAD that accepts HTML, outside `/v1` and git's routes,
 * gets `index.html` (never cached, so a new build shows on the next load): the dashboard routes in
 * the browser. The files are read per request, so a rebuild needs no restart. Anything else goes on
 * to the JSON 404.
 */
export function dashboard(dir: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_OURS.test(req.path)) return next();
    const asset = req.path.startsWith('/assets/') ? req.path.slice('/assets/'.length) : undefined;
    if (asset === undefined && !req.accepts('html')) return next();
    const file = asset === undefined ? path.join(dir, 'index.html') : ASSET_NAME.test(asset) ? path.join(dir, 'assets', asset) : undefined;
    (file ? readIfThere(file) : Promise.resolve(undefined))
      .then((body) => {
        if (file && body) return sendFile(req, res, file, body, asset === undefined ? 'no-cache' : 'public, max-age=31536000, immutable');
        if (asset !== undefined) throw new NotFoundError(`The dashboard has no asset ${asset.slice(0, 100)}. Reload the page: the dashboard may have been rebuilt since it loaded.`);
        throw new PaasError('dashboard_not_built', 503, `The dashboard is not built: ${file} is missing. Run \`npm run build\` in the paas checkout (or set PAAS_DASHBOARD_DIR to a built dashboard), then reload.`);
      })
      .catch(next);
  };
}
