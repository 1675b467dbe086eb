// A hostile app: from its build script, its release phase and its web dyno it tries everything an
// app must not be able to do on paas, and reports what happened. Node built-ins only.

/** What the hostile app aims at: the test fills in the real paths and pids of this run. */
export interface Targets {
  serverPid: number;
  dataDir: string;
  db: string;
  tokenFile: string;
  otherSlugs: string;
  operatorNetrc: string;
  hostTmpFile: string;
  /** A fresh path in the data dir that must not come to exist. */
  dataDirWrite: string;
  /** The server's private directory (mode 0700), and the API the hook's callback used to be served on. */
  runDir: string;
  apiUrl: string;
}

const PROBE = String.raw`
const fs = require('fs');
const t = require('./targets.json');

function attempt(fn) {
  try {
    const v = fn();
    return { ok: true, value: String(v).slice(0, 2000) };
  } catch (e) {
    return { ok: false, error: e.code || e.message };
  }
}

/** Everything of other processes the app can read from /proc: cmdlines, environs, cwds. */
function scanProc() {
  let seen = '';
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    for (const what of ['cmdline', 'environ']) {
      try { seen += fs.readFileSync('/proc/' + pid + '/' + what, 'utf8').split('\0').join(' ') + '\n'; } catch {}
    }
    try { seen += fs.readlinkSync('/proc/' + pid + '/cwd') + '\n'; } catch {}
  }
  try { seen += fs.readFileSync('/proc/self/mountinfo', 'utf8'); } catch {}
  // Named sockets of its network namespace (the whole host's without app networks), and what this process's fds
  // open. Unnamed sockets say nothing and, counted by the host's load, could push the probe's line
  // past the 10,000 characters paas keeps of a line.
  try { seen += fs.readFileSync('/proc/net/unix', 'utf8').split('\n').filter((l) => l.trim().split(/\s+/).length > 7).join('\n') + '\n'; } catch {}
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try { seen += fs.readlinkSync('/proc/self/fd/' + fd) + '\n'; } catch {}
  }
  return seen;
}

function probe(otherPids) {
  const r = {
    readServerEnviron: attempt(() => fs.readFileSync('/proc/' + t.serverPid + '/environ', 'utf8')),
    readStore: attempt(() => fs.readFileSync(t.db).length),
    readToken: attempt(() => fs.readFileSync(t.tokenFile, 'utf8')),
    listDataDir: attempt(() => fs.readdirSync(t.dataDir).join(',')),
    listOtherSlugs: attempt(() => fs.readdirSync(t.otherSlugs).join(',')),
    readOperatorNetrc: attempt(() => fs.readFileSync(t.operatorNetrc, 'utf8')),
    readHostTmp: attempt(() => fs.readFileSync(t.hostTmpFile, 'utf8')),
    writeDataDir: attempt(() => fs.writeFileSync(t.dataDirWrite, 'pwned')),
    writeHostTmp: attempt(() => fs.writeFileSync(t.hostTmpFile, 'pwned')),
    signalServer: attempt(() => process.kill(t.serverPid, 0)),
    listRunDir: attempt(() => fs.readdirSync(t.runDir).join(',')),
    signalOthers: (otherPids || []).map((pid) => attempt(() => process.kill(pid, 'SIGTERM'))),
    uid: process.getuid(),
    cwd: process.cwd(),
    home: process.env.HOME,
    pids: fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length,
    proc: scanProc(),
  };
  return r;
}

module.exports = { probe };
// In numbered pieces, each ended by '|': paas keeps 10,000 characters of a line, and what the app can
// see of the host (its named sockets: every container's shim, when Docker suites run alongside) may
// run longer; git pads each remote line with spaces, which the '|' leaves out.
if (require.main === module) {
  const text = JSON.stringify(probe());
  for (let i = 0; i * 4000 < text.length; i++) process.stdout.write('PROBE ' + process.argv[2] + ' ' + i + ' ' + text.slice(i * 4000, (i + 1) * 4000) + '|\n');
}
`;

const SERVER = String.raw`
const http = require('http');
const fs = require('fs');
const { probe } = require('./probe.js');
const t = require('./targets.json');

/** Tries the public API where the hook's callback used to be served. */
async function reachHook() {
  const api = await new Promise((resolve) => {
    const req = http.request(t.apiUrl + '/internal/pushes/x/deploy?commit=' + '0'.repeat(40), { method: 'POST' }, (res) => {
      res.resume();
      resolve({ ok: res.statusCode < 400, status: res.statusCode });
    });
    req.on('error', (e) => resolve({ ok: false, error: e.code }));
    req.end('not a tar');
  });
  return { api };
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  let body;
  if (url.pathname === '/hook') body = await reachHook();
  else if (url.pathname === '/probe') body = probe((url.searchParams.get('pids') || '').split(',').filter(Boolean).map(Number));
  else if (url.pathname === '/build-probe') body = JSON.parse(fs.readFileSync('build-probe.json', 'utf8'));
  else if (url.pathname === '/write') { fs.writeFileSync('/app/dyno-marker', 'x'); body = { wrote: true }; }
  else if (url.pathname === '/read') body = { marker: fs.existsSync('/app/dyno-marker'), release: fs.existsSync('/app/release.test') };
  else body = { hello: 'hostile' };
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** The hostile app's files, aimed at `targets`. */
export function hostileApp(targets: Targets): Record<string, string> {
  return {
    'targets.json': JSON.stringify(targets),
    'probe.js': PROBE,
    'server.js': SERVER,
    'package.json': JSON.stringify({
      name: 'hostile',
      version: '1.0.0',
      scripts: { build: 'node probe.js build && node -e "require(\'fs\').writeFileSync(\'build-probe.json\', JSON.stringify(require(\'./probe.js\').probe()))"' },
    }),
    'package-lock.json': JSON.stringify({ name: 'hostile', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'hostile', version: '1.0.0' } } }),
    Procfile: 'web: node server.js\nrelease: touch /app/release.test && node probe.js release\n',
  };
}
