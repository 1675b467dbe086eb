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

function resolveFile(urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return undefined;
  }
  let file = path.join(root, path.normalize(decoded));
  if (file !== root && !file.startsWith(root + path.sep)) return undefined;
  if (path.relative(root, file).split(path.sep).some((part) => part.startsWith('.') && part !== '.')) return undefined;
  try {
    if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    const real = fs.realpathSync(file);
    if (!real.startsWith(root + path.sep)) return undefined;
    return fs.statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const file = resolveFile(req.url ?? '/');
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
    return;
  }
  const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'content-length': fs.statSync(file).size });
  if (req.method === 'HEAD') res.end();
  else fs.createReadStream(file).pipe(res);
});

// Loopback only on the host: the router is the one way in, never another interface of the host.
// Inside a container (PAAS_STATIC_HOST=0.0.0.0, set by the image build) loopback is the container's
// own, so it listens on every interface there and Docker publishes the port on the host's loopback.
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
