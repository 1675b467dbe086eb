// A Node app that uses its add-ons the way real apps do: the npm `pg` and `redis` clients, found
// through DATABASE_URL and REDIS_URL (or NAME_URL for `--as NAME`). Shared by the add-on tests
// and bench:addons. Its dependencies come from the npm registry, which CI reaches.
import { withLockfile } from './docker.js';

const SERVER = `
const http = require('http');
const { Pool } = require('pg');
const { createClient } = require('redis');

const db = process.env.DATABASE_URL ? new Pool({ connectionString: process.env.DATABASE_URL, max: 2 }) : null;
let redis = null;
function cache() {
  if (!process.env.REDIS_URL) return null;
  if (!redis) {
    redis = createClient({ url: process.env.REDIS_URL });
    redis.on('error', (err) => console.log('redis error: ' + err.message));
    redis.ready = redis.connect();
  }
  return redis;
}

async function answer(req) {
  const { pathname } = new URL(req.url, 'http://x');
  if (pathname === '/') return { ok: true, dyno: process.env.DYNO };
  if (pathname.startsWith('/rows')) {
    if (!db) return { error: 'no DATABASE_URL' };
    await db.query('CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, note text NOT NULL)');
    if (req.method === 'POST') await db.query('INSERT INTO items (note) VALUES ($1)', [pathname.slice(6) || 'row']);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM items');
    return { rows: rows[0].n };
  }
  if (pathname === '/query') {
    if (!db) return { error: 'no DATABASE_URL' };
    const { rows } = await db.query('SELECT 1 AS one');
    return { one: rows[0].one };
  }
  if (pathname === '/counter') {
    const r = cache();
    if (!r) return { error: 'no REDIS_URL' };
    await r.ready;
    return { counter: req.method === 'POST' ? await r.incr('counter') : Number(await r.get('counter')) };
  }
  return { error: 'not found' };
}

const server = http.createServer((req, res) => {
  answer(req).then(
    (body) => { res.writeHead(body.error ? 500 : 200, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); },
    (err) => { res.writeHead(500, { 'content-type': 'application/json' }); res.end(JSON.stringify({ error: err.message })); },
  );
});
server.listen(process.env.PORT, () => console.log('listening on ' + process.env.PORT));
process.on('SIGTERM', () => server.close(async () => { await db?.end(); if (redis) await redis.quit().catch(() => {}); process.exit(0); }));
`;

/** The app's files, with a lockfile npm resolved for `pg` and `redis`. */
export async function addonApp(): Promise<Record<string, string>> {
  const pkg = { name: 'addon-app', version: '1.0.0', private: true, scripts: { start: 'node server.js' }, dependencies: { pg: '^8.13.0', redis: '^4.7.0' } };
  return { ...(await withLockfile(pkg)), 'server.js': SERVER };
}
