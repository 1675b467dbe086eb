// A hostile web app that tries to take the host's resources, one attack per path, and answers with
// what it managed. Procfile-only (no install step), so a push is quick.
const server = `
const http = require('http');
const fs = require('fs');
const { spawn } = require('child_process');
const MB = 1024 * 1024;

function fill(file, res) {
  const chunk = Buffer.alloc(MB, 1);
  let written = 0, error;
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < 2048; i++) { fs.writeSync(fd, chunk); written += MB; }
  } catch (e) { error = e.code; }
  fs.closeSync(fd);
  fs.rmSync(file, { force: true });
  res.end(JSON.stringify({ written, error }));
}

// Spawning 5,000 takes seconds (each refused fork too): /fork starts it, /forked answers once it is over.
let forked;
function fork() {
  let started = 0, failed = 0, error, pending = 5000;
  const children = [];
  const settle = () => {
    if (--pending) return;
    for (const c of children) c.kill('SIGKILL');
    forked = { started, failed, error };
  };
  for (let i = 0; i < 5000; i++) {
    const c = spawn('sleep', ['60'], { stdio: 'ignore' });
    c.on('spawn', () => { started++; children.push(c); settle(); });
    c.on('error', (e) => { failed++; error = e.code; settle(); });
  }
}

const hold = [];
http.createServer((req, res) => {
  if (req.url === '/info') return res.end(JSON.stringify({ oomScoreAdj: fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim(), memoryAvailable: process.env.MEMORY_AVAILABLE }));
  if (req.url === '/fork') {
    forked = undefined;
    return res.end(JSON.stringify('started'), () => setImmediate(fork));
  }
  if (req.url === '/forked') return res.end(JSON.stringify(forked ?? 'pending'));
  if (req.url === '/fill-tmp') return fill('/tmp/fill', res);
  if (req.url === '/fill-app') return fill('/app/fill', res);
  if (req.url === '/allocate') {
    // 4 GB, touched page by page so it is really used.
    for (let i = 0; i < 4096; i++) hold.push(Buffer.alloc(MB, i & 255));
    return res.end('allocated');
  }
  res.end('hog');
}).listen(process.env.PORT);
`;

export const hogApp: Record<string, string> = { Procfile: 'web: node server.js\n', 'server.js': server };
