// The pre-receive hook of every app repository. git runs it inside the receive-pack the server
// spawned, with the pushed objects still in quarantine. Its output reaches the pusher as `remote:`
// lines; a non-zero exit rejects the push and leaves every ref where it was.
// A CommonJS module (.cts), as is hook-protocol.cts, its one import: every push starts a fresh Node
// for it, and Node starts a CommonJS script in ~27 ms where an ES module takes ~48 ms (the ESM
// loader's own start-up), on the push's path before the first build line.
import { spawn } from 'node:child_process';
import http from 'node:http';
import readline from 'node:readline';
import { RESULT_MARKER, type HookResult } from './hook-protocol.cjs';

const ZERO = /^0+$/;
const DEPLOY_REFS = new Set(['refs/heads/main', 'refs/heads/master']);

function fail(message: string): never {
  process.stdout.write(`\n !     ${message.split('\n').join('\n !     ')}\n\n`);
  process.exit(1);
}

async function readUpdates(): Promise<{ oldSha: string; newSha: string; ref: string }[]> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  return input
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [oldSha = '', newSha = '', ref = ''] = line.split(' ');
      return { oldSha, newSha, ref };
    });
}

/** Streams `git archive` of the commit to the server and relays the build output until the result line. */
function deploy(commit: string): Promise<HookResult> {
  const { PAAS_HOOK_SOCKET: socketPath, PAAS_HOOK_PATH: hookPath, PAAS_HOOK_SECRET: secret, ...env } = process.env;
  if (!socketPath || !hookPath || !secret) fail('This repository can only be pushed to through the paas server.');
  return new Promise((resolve, reject) => {
    // git archive needs the quarantine variables git set for us, but not the secret.
    const archive = spawn('git', ['archive', '--format=tar', commit], { stdio: ['ignore', 'pipe', 'inherit'], env });
    const req = http.request({
      socketPath,
      path: `${hookPath}?commit=${encodeURIComponent(commit)}`,
      method: 'POST',
      headers: { 'x-paas-hook-secret': secret, 'content-type': 'application/x-tar' },
    });
    req.on('error', reject);
    archive.stdout.pipe(req);
    req.on('response', (res) => {
      let result: HookResult | undefined;
      if (res.statusCode !== 200) result = { ok: false, message: `paas refused the deploy (HTTP ${res.statusCode}).` };
      const lines = readline.createInterface({ input: res });
      lines.on('line', (line) => {
        if (line.startsWith(RESULT_MARKER)) result = JSON.parse(line.slice(RESULT_MARKER.length)) as HookResult;
        else process.stdout.write(`${line}\n`);
      });
      lines.on('close', () => resolve(result ?? { ok: false, message: 'The paas server stopped before the deploy finished.' }));
    });
  });
}

async function main(): Promise<void> {
  const updates = await readUpdates();
  if (process.env.PAAS_PUSH_REFUSED) fail(process.env.PAAS_PUSH_REFUSED);
  const others = updates.filter((u) => !DEPLOY_REFS.has(u.ref));
  if (others.length) {
    fail(`Only the main or master branch deploys; refusing ${others.map((u) => u.ref).join(', ')}.\nPush your branch to main instead: git push paas <branch>:main`);
  }
  if (updates.length !== 1) fail('Push main or master, not both.');
  const { newSha } = updates[0];
  if (ZERO.test(newSha)) fail('Deleting the deploy branch is not allowed.');
  const result = await deploy(newSha);
  if (!result.ok) fail(`Push rejected: ${result.message ?? 'deploy failed'}`);
}

main().catch((err: Error) => fail(`Deploy hook failed: ${err.message}`));
