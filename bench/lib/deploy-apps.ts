// The two apps bench:deploy pushes, and how it tells which state of them answers. Both answer
// `{"code": <marker of the pushed code>, "value": <$BENCH_VALUE or "-">}`, so a request shows
// whether the new code (a push, a rollback) or the new config (config:set) is being served.
// $BENCH_HOST, when set, is the address to listen on: the hand-run floor listens on 127.0.0.1 only;
// paas's dynos (in a network namespace or a container of their own) listen where paas reaches them.
import { withLockfile } from '../../test/helpers/docker.js';

export type Files = Record<string, string>;

/** What a response says: the code's marker and the config value it was started with. */
export interface AppState {
  code: string;
  value: string;
}

export type AppKind = 'nodeps' | 'express';

const NODEPS_SERVER = (marker: string) => `// bench:deploy's no-dependency app
const body = JSON.stringify({ code: ${JSON.stringify(marker)}, value: process.env.BENCH_VALUE || '-' });
const server = require('http').createServer((req, res) => res.end(body));
server.listen(Number(process.env.PORT), process.env.BENCH_HOST || undefined);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const EXPRESS_SERVER = (marker: string) => `// bench:deploy's express app
const express = require('express');
const app = express();
const body = { code: ${JSON.stringify(marker)}, value: process.env.BENCH_VALUE || '-' };
app.get('/', (req, res) => res.json(body));
const server = app.listen(Number(process.env.PORT), process.env.BENCH_HOST || undefined);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** The server file of `kind` for the code named `marker`: a code-only change is a new marker. */
export function serverFile(kind: AppKind, marker: string): Files {
  return { 'server.js': kind === 'nodeps' ? NODEPS_SERVER(marker) : EXPRESS_SERVER(marker) };
}

/**
 * The app's first files: the no-dependency app has a package.json and no lockfile (what `npm init`
 * leaves); the express app's lockfile is resolved from the npm registry, once per run.
 */
export async function appFiles(kind: AppKind, marker: string): Promise<Files> {
  const procfile = { Procfile: 'web: node server.js\n' };
  if (kind === 'nodeps') {
    return { 'package.json': JSON.stringify({ name: 'bench-nodeps', version: '1.0.0', private: true }, null, 2), ...procfile, ...serverFile(kind, marker) };
  }
  const deps = await withLockfile({ name: 'bench-express', version: '1.0.0', private: true, dependencies: { express: '5.1.0' } });
  return { ...deps, ...procfile, ...serverFile(kind, marker) };
}

/** Whether a response body shows `want` being served. */
export function serves(body: string, want: AppState): boolean {
  try {
    const got = JSON.parse(body) as Partial<AppState>;
    return got.code === want.code && got.value === want.value;
  } catch {
    return false;
  }
}
