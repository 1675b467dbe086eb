// The attack of issue 22 on a dyno, as a test: a hostile app loops binding the port of another
// app's web dyno; the victim crashes on a request (a route of its own that exits) and its port is
// free for a moment. No request for the victim may reach the hostile app: the dyno's route goes as
// soon as its process exits, and the router does not send to a port whose connection just closed
// unanswered until the route table still lists it. As root with bubblewrap, on the shared loopback
// (PAAS_APP_NETWORKS=off, the fallback this guards).
import http from 'node:http';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { detectSandbox } from '../../server/sandbox/host.js';
import { hostCanRun, root } from '../helpers/host.js';
import { cli, createApp, gitRepo, type Paas, push, startPaas } from '../helpers/paas.js';

const host = detectSandbox();
const canSandbox = hostCanRun('a hostile app squatting a dyno port', { ...root('app uids'), 'bubblewrap that can make namespaces': host.kind === 'bwrap' });

const victim: Record<string, string> = {
  Procfile: 'web: exec node server.js\n',
  'server.js': `require('http').createServer((q, r) => {
  if (q.url === '/crash') process.exit(1);
  r.end('victim ' + process.env.PORT);
}).listen(process.env.PORT);
`,
};

/** Told a port (POST /target?port=N), it binds it whenever it can and answers "hostile" there. */
const hostile: Record<string, string> = {
  Procfile: 'web: exec node server.js\n',
  'server.js': `const http = require('http');
let target = 0;
function squat(port) {
  const s = http.createServer((q, r) => { console.log('hostile got ' + q.url); r.end('hostile'); });
  s.on('error', () => { if (target === port) setTimeout(() => squat(port), 1); });
  s.listen(port, '127.0.0.1', () => console.log('hostile bound ' + port));
}
http.createServer((q, r) => {
  const port = Number(new URL(q.url, 'http://x').searchParams.get('port'));
  if (port) { target = port; squat(port); }
  r.end('ok');
}).listen(process.env.PORT);
`,
};

let paas: Paas;
// One kept-alive agent, so the router reuses its connections to the victim (the retry path).
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(app: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: paas.routerPort, path, headers: { host: `${app}.localhost` }, agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(10_000, () => req.destroy());
    req.end();
  });
}

beforeAll(async () => {
  paas = await startPaas({ PAAS_APP_NETWORKS: 'off' });
});

describe.runIf(canSandbox)('a hostile app squatting the port of a dyno that crashed', () => {
  it('gets none of its requests, in several tries', { timeout: 300_000 }, async () => {
    for (const [name, files] of [['dq-victim', victim], ['dq-hostile', hostile]] as const) {
      await createApp(paas, name);
      const pushed = await push(paas, await gitRepo(paas, files), name);
      expect(pushed.code, pushed.stderr).toBe(0);
    }
    const answers: string[] = [];
    let bound = 0;
    for (let attempt = 0; attempt < 4; attempt++) {
      let port = 0;
      await vi.waitFor(async () => {
        const r = await get('dq-victim', '/');
        expect(r.body).toMatch(/^victim \d+$/);
        port = Number(r.body.split(' ')[1]);
      }, { timeout: 60_000, interval: 200 });
      // Warm the router's kept connections to the victim, then aim the hostile app at its port.
      for (let i = 0; i < 5; i++) answers.push((await get('dq-victim', '/')).body);
      expect((await get('dq-hostile', `/target?port=${port}`)).body).toBe('ok');
      answers.push((await get('dq-victim', '/crash')).body);
      // Requests right after the crash, while the hostile app binds the freed port.
      for (let i = 0; i < 20; i++) {
        answers.push((await get('dq-victim', '/')).body);
        await new Promise((r) => setTimeout(r, 25));
      }
      const logs = (await cli(paas, ['logs', '-a', 'dq-hostile', '-n', '1000'])).stdout;
      bound = (logs.match(/hostile bound/g) ?? []).length;
    }
    // The hostile app did hold the victims' freed ports, and never answered one of their requests.
    expect(bound).toBeGreaterThan(0);
    expect(answers.filter((a) => a.includes('hostile'))).toEqual([]);
    expect((await cli(paas, ['logs', '-a', 'dq-hostile', '-n', '1000'])).stdout).not.toContain('hostile got');
  });
});
