import type { NextFunction, Request, Response } from 'express';
import { NotFoundError, PaasError } from '../../lib/errors.js';
import { isNoSpace, storageError } from '../disk/space.js';

export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new NotFoundError(`No route for ${req.method} ${req.path}. See docs/api.md for the API.`));
}

/**
 * A write that found the data dir full (ENOSPC, SQLITE_FULL) becomes the 507 naming it, whichever
 * handler made it; better-sqlite3 rolled the transaction back, so the request changed nothing.
 */
export function noSpaceErrors(dataDir: string) {
  return (err: unknown, _req: Request, _res: Response, next: NextFunction): void => {
    next(!(err instanceof PaasError) && isNoSpace(err) ? storageError(dataDir, 'the request was not carried out') : err);
  };
}

/** Every error leaves as `{ id, message }` with its status; unexpected ones are logged, not shown. */
export function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  if (err instanceof PaasError) {
    res.status(err.status).json({ id: err.id, message: err.message });
    return;
  }
  // body-parser errors carry a status and a type; they are the client's fault.
  const e = err as { status?: number; type?: string; message?: string };
  if (e.type === 'entity.parse.failed') {
    res.status(400).json({ id: 'bad_request', message: 'The request body is not valid JSON.' });
    return;
  }
  if (e.status === 413) {
    res.status(413).json({ id: 'payload_too_large', message: 'The request body is too large.' });
    return;
  }
  console.error('internal error:', err);
  res.status(500).json({ id: 'internal_error', message: 'Something went wrong inside paas; the server log has the details.' });
}
