// Sample apps pushed by the end-to-end tests. None needs the network: no third-party packages.

/** A Node app with a lockfile (so the dependency cache applies) that answers with `message`. */
export function nodeApp(message: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'hello-node', version: '1.0.0', scripts: { start: 'node server.js' } }, null, 2),
    'package-lock.json': JSON.stringify(
      { name: 'hello-node', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'hello-node', version: '1.0.0' } } },
      null,
      2,
    ),
    'server.js': `
const http = require('http');
const server = http.createServer((req, res) => {
  res.end(JSON.stringify({ message: ${JSON.stringify(message)}, dyno: process.env.DYNO, port: process.env.PORT, token: process.env.PAAS_API_TOKEN || null }));
});
server.listen(process.env.PORT, () => console.log('listening on ' + process.env.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  };
}

export const pythonApp: Record<string, string> = {
  'requirements.txt': '# no third-party packages: PyPI is not reachable from the test machines\n',
  Procfile: 'web: python app.py\n',
  'app.py': `
import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from python " + sys.prefix).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

print("python listening", flush=True)
HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
`,
};

export const staticSite: Record<string, string> = {
  'index.html': '<!doctype html><title>static</title><h1>hello from a static site</h1>\n',
  'css/site.css': 'h1 { color: teal; }\n',
};

/**
 * A Node app whose build script prints "build started" and takes `ms`, so a push is still building
 * when the server is stopped or killed. `tag` is in the build step's command line, to find it in /proc.
 */
export function slowBuildApp(ms: number, tag = 'slow-build'): Record<string, string> {
  const app = nodeApp('built slowly');
  const pkg = JSON.parse(app['package.json']) as { scripts: Record<string, string> };
  pkg.scripts.build = `node -e "console.log('build started'); setTimeout(() => console.log('build done'), ${ms})" ${tag}`;
  return { ...app, 'package.json': JSON.stringify(pkg) };
}

/** A Procfile-only app whose web process binds only after `delaySeconds`, to keep a deploy busy. */
export function slowApp(delaySeconds: number, message = 'slow'): Record<string, string> {
  return {
    Procfile: `web: sleep ${delaySeconds} && exec node server.js\n`,
    'server.js': `require('http').createServer((q, s) => s.end(${JSON.stringify(message)})).listen(process.env.PORT);\n`,
  };
}

/** A Node app that answers with `message` and its whole environment, with an optional release command. */
export function envApp(message: string, release?: string): Record<string, string> {
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'env-app', version: '1.0.0' }),
    'package-lock.json': JSON.stringify({ name: 'env-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'env-app', version: '1.0.0' } } }),
    'server.js': `
const http = require('http');
const server = http.createServer((req, res) => res.end(JSON.stringify({ message: ${JSON.stringify(message)}, env: process.env })));
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
    Procfile: `web: node server.js\n${release ? `release: ${release}\n` : ''}`,
  };
  return files;
}

/**
 * A Procfile-only app that misbehaves on request: `/half` sends headers and part of the body, then
 * SIGKILLs itself; `/die` SIGKILLs itself before answering; `/silent` never answers. Anything else is `ok`.
 */
export const crashingApp: Record<string, string> = {
  Procfile: 'web: node server.js\n',
  'server.js': `
require('http').createServer((req, res) => {
  const die = () => process.kill(process.pid, 'SIGKILL');
  if (req.url === '/half') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    // Die once the first part has left the process, so the router surely has the headers.
    return void res.write('half', die);
  }
  if (req.url === '/die') return die();
  if (req.url === '/silent') return;
  res.end('ok');
}).listen(process.env.PORT);
`,
};

/** A Procfile-only app (quick to push) printing `tick <boot> <n>` every 100 ms, <boot> new each start. */
export const tickerApp: Record<string, string> = {
  Procfile: 'web: exec node server.js\n',
  'server.js': `const boot = Math.random().toString(36).slice(2, 8);
let n = 0;
setInterval(() => console.log('tick ' + boot + ' ' + n++), 100);
require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);
process.on('SIGTERM', () => process.exit(0));
`,
};

/** A Procfile-only Node app that answers with which add-on vars its dyno has, never their values. */
export const addonVarsApp: Record<string, string> = {
  Procfile: 'web: node server.js\n',
  'server.js': `
const http = require('http');
const has = (k) => Boolean(process.env[k]);
http.createServer((req, res) => res.end(JSON.stringify({ database: has('DATABASE_URL'), redis: has('REDIS_URL'), other: has('OTHER_URL') })))
  .listen(process.env.PORT, () => console.log('listening'));
`,
};

/**
 * A Procfile-only app with Heroku's runtime contract in use: two `.profile.d` scripts (the second
 * builds on the first, after a command that fails; both print), a file there that is not `*.sh`,
 * a `.profile`, an app.json with comments and trailing commas, a release command and a `console`
 * type that prints its arguments. The web process answers with what its environment got.
 */
export const conventionsApp: Record<string, string> = {
  Procfile: ['web: node server.js', 'worker: node -e "console.log(\'worker sees\', process.env.PROFILE_VAR); setInterval(() => {}, 1000)"', 'release: echo "release sees $PROFILE_VAR"', 'console: node console.js --from-procfile', ''].join('\n'),
  '.profile.d/10-first.sh': 'export PROFILE_VAR=from-profile-d\necho "profile.d says hello"\n',
  '.profile.d/20-second.sh': 'false\nexport SECOND_VAR="$PROFILE_VAR+second"\n',
  '.profile.d/notes.txt': 'export IGNORED=yes\n',
  '.profile': 'export FROM_PROFILE="$SECOND_VAR+profile"\n',
  'app.json': `{
  // Dokku reads comments in app.json; so does paas.
  "name": "conventions",
  "healthchecks": {
    "web": [ /* one startup check */ { "type": "startup", "path": "/", "attempts": 3, }, ],
  },
}
`,
  'console.js': 'console.log(["console", process.env.PROFILE_VAR, ...process.argv.slice(2)].join("|"));\n',
  'server.js': `
const http = require('http');
const { PROFILE_VAR, SECOND_VAR, FROM_PROFILE, IGNORED } = process.env;
const server = http.createServer((req, res) => res.end(JSON.stringify({ PROFILE_VAR, SECOND_VAR, FROM_PROFILE, IGNORED: IGNORED || null })));
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
};

/** A Procfile-only app whose web process listens on a fixed port, whatever $PORT says. */
export function fixedPortApp(port: number): Record<string, string> {
  return {
    Procfile: 'web: node server.js\n',
    'server.js': `require('http').createServer((q, s) => s.end('ok')).listen(${port}, () => console.log('listening on ${port}'));\n`,
  };
}
