// `paas login` against the real server with the real binary: what it does to ~/.netrc, that a typed
// token is never echoed, and that the CLI stops quietly when its reader goes away (EPIPE).
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, createApp, type Paas, type Result, sh, spawnChild, startPaas, tempDir } from './helpers/paas.js';

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas();
});

/** A temp HOME, removed when the test ends, and the env of a CLI that has no token but what HOME holds. */
function freshHome(): { home: string; env: Record<string, string> } {
  const home = tempDir('paas-login-home-');
  return { home, env: { PATH: process.env.PATH!, HOME: home, PAAS_API_URL: paas.apiUrl } };
}

/** Runs the CLI with `input` piped to its stdin. */
function cliWithInput(args: string[], input: string, env: Record<string, string>): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

describe('paas login', () => {
  it('replaces only its own ~/.netrc entry, keeping comments and other machines byte for byte', async () => {
    const { home, env } = freshHome();
    const host = new URL(paas.apiUrl).hostname;
    const before = '# work credentials, keep\nmachine github.com login x password y\n';
    const netrc = path.join(home, '.netrc');
    fs.writeFileSync(netrc, `${before}machine ${host}\n  login paas\n  password old-token\n\n# trailing note\nmachine example.org\n  login me\n  password secret\n`);
    fs.chmodSync(netrc, 0o644);

    const r = await cliWithInput(['login'], `${paas.token}\n`, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Logged in to ${paas.apiUrl}\n`);
    const after = fs.readFileSync(netrc, 'utf8');
    expect(after).toBe(`${before}machine ${host}\n  login paas\n  password ${paas.token}\n\n# trailing note\nmachine example.org\n  login me\n  password secret\n`);
    expect(fs.statSync(netrc).mode & 0o777).toBe(0o600);

    // --token still works, and logging in again changes nothing.
    expect((await cliWithInput(['login', '--token', paas.token], '', env)).code).toBe(0);
    expect(fs.readFileSync(netrc, 'utf8')).toBe(after);
    const apps = await sh(process.execPath, [BIN, 'apps'], { env });
    expect(apps.code, apps.stderr).toBe(0);
  });

  it('adds its entry after a file that does not end in a newline, and creates a missing file 0600', async () => {
    const { home, env } = freshHome();
    const netrc = path.join(home, '.netrc');
    fs.writeFileSync(netrc, '# only a comment');
    expect((await cliWithInput(['login'], `${paas.token}\n`, env)).code).toBe(0);
    expect(fs.readFileSync(netrc, 'utf8')).toBe(`# only a comment\nmachine ${new URL(paas.apiUrl).hostname} login paas password ${paas.token}\n`);

    fs.rmSync(netrc);
    expect((await cliWithInput(['login'], `  ${paas.token}  \n`, env)).code).toBe(0);
    expect(fs.readFileSync(netrc, 'utf8')).toContain(`password ${paas.token}\n`);
    expect(fs.statSync(netrc).mode & 0o777).toBe(0o600);
  });

  it('leaves alone a file the netrc library would damage, and says what to add by hand', async () => {
    const { home, env } = freshHome();
    const netrc = path.join(home, '.netrc');
    // netrc-parser reads "machine settings" out of this comment as an entry of its own.
    const before = '# my work machine settings\nmachine github.com login x password y\n';
    fs.writeFileSync(netrc, before, { mode: 0o600 });
    const r = await cliWithInput(['login'], `${paas.token}\n`, env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot rewrite without changing other lines');
    expect(r.stderr).toContain(`machine ${new URL(paas.apiUrl).hostname} login paas password <token>`);
    expect(r.stderr).not.toContain(paas.token);
    expect(fs.readFileSync(netrc, 'utf8')).toBe(before);
    expect(fs.readdirSync(home).filter((f) => f.startsWith('.netrc'))).toEqual(['.netrc']);
  });

  it('refuses empty stdin and writes nothing', async () => {
    const { home, env } = freshHome();
    const r = await cliWithInput(['login'], '', env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No token given');
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
    expect(fs.existsSync(path.join(home, '.netrc'))).toBe(false);
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('does not echo a token typed at a terminal', async () => {
    const { home, env } = freshHome();
    // script(1) from util-linux gives the CLI a pseudo-terminal; what it prints is what a person sees.
    const child = spawnChild('script', ['-qec', `${shellQuote(process.execPath)} ${shellQuote(BIN)} login`, '/dev/null'], { env });
    let screen = '';
    child.stdout!.on('data', (d) => (screen += d));
    child.stderr!.on('data', (d) => (screen += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Type only once the prompt is up: keys typed before the CLI takes the terminal are echoed by it.
    await expect.poll(() => screen, { timeout: 15_000 }).toContain('API token');
    child.stdin!.write(`${paas.token}\r`);
    await expect.poll(() => screen, { timeout: 15_000 }).toContain('Logged in to');
    child.stdin!.end();
    expect(await exited).toBe(0);
    expect(screen).not.toContain(paas.token);
    expect(screen).not.toContain(paas.token.slice(0, 8));
    expect(fs.readFileSync(path.join(home, '.netrc'), 'utf8')).toContain(`password ${paas.token}`);
  });
});

describe('a reader that stops early', () => {
  it('gets no EPIPE error: the CLI exits 0 and quietly', async () => {
    for (let i = 1; i <= 5; i++) await createApp(paas, `pipe-app-${i}`);
    for (const args of ['apps', 'apps --json']) {
      // head -0 exits at once, so by the time the CLI has asked the server and writes, the pipe is closed.
      const r = await sh('bash', ['-c', `set +o pipefail; ${shellQuote(process.execPath)} ${shellQuote(BIN)} ${args} | head -0; exit "\${PIPESTATUS[0]}"`], { env: paas.env });
      expect(r.stderr, args).toBe('');
      expect(r.code, args).toBe(0);
      expect(r.stdout).toBe('');
    }
  });
});
