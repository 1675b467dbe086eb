// The static site server that static slugs run as their web process. Self-contained (node built-ins
// only) because it is copied into each slug. Serves the current directory on $PORT.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

const root = fs.realpathSync(process.cwd());

/** What a request path finds: a file to serve, a directory to redirect to with a slash, or nothing. */
type Found = { file: string } | { redirect: string } | undefined;

function resolve(url: string): Found {
  const [urlPath, query] = [url.split('?')[0], url.includes('?') ? url.slice(url.indexOf('?')) : ''];
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  let file = path.join(root, path.normalize(decoded));
  if (file !== root && !file.startsWith(root + path.sep)) return undefined;
  const rel = path.relative(root, file);
  if (rel.split(path.sep).some((part) => part.startsWith('.') && part !== '.')) return undefined;
  try {
    if (fs.statSync(file).isDirectory()) {
      file = path.join(file, 'index.html');
      // `/docs` is `/docs/`, as nginx has it, so the page's relative links resolve inside it. The
      // location is made from the resolved path, every segment encoded, so it always stays on this
      // host (`//evil.example` would not).
      if (!urlPath.endsWith('/') && fs.statSync(file).isFile()) return { redirect: `/${rel.split(path.sep).map(encodeURIComponent).join('/')}/${query}` };
    }
    const real = fs.realpathSync(file);
    if (!real.startsWith(root + path.sep)) return undefined;
    return fs.statSync(real).isFile() ? { file: real } : undefined;
  } catch {
    return undefined;
  }
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const found = resolve(req.url ?? '/');
  if (found && 'redirect' in found) {
    res.writeHead(301, { location: found.redirect, 'content-type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : 'Moved Permanently\n');
    return;
  }
  if (!found) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
    return;
  }
  const { file } = found;
  const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'content-length': fs.statSync(file).size });
  if (req.method === 'HEAD') res.end();
  else fs.createReadStream(file).pipe(res);
});

// Loopback only on the host: the router is the one way in, never another interface of the host.
// Inside a container (PAAS_STATIC_HOST=0.0.0.0, set by the image build) loopback is the container's
// own, so it listens on every interface there and Docker publishes the port on the host's loopback;
// likewise in an app's own network namespace on the process runtime, which the runtime says the same way.
const host = process.env.PAAS_STATIC_HOST || '127.0.0.1';
// PORT=0 is honoured (an ephemeral port, which the log line reports); only a missing one means 5000.
const port = /^\d+$/.test(process.env.PORT ?? '') ? Number(process.env.PORT) : 5000;
server.listen(port, host, () => {
  const addr = server.address();
  console.log(`static server listening on ${typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : process.env.PORT}`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
