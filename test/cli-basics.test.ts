// The CLI's own surface, with no server: `paas` alone, `paas --version`, and one error style for
// mistakes commander catches (unknown command or option) and paas's own. The real binary.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, sh, tempDir } from './helpers/paas.js';

const paasCli = (args: string[]) => sh(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH!, HOME: tempDir('paas-cli-home-'), PAAS_API_URL: 'http://127.0.0.1:9' } });

describe('the CLI itself', () => {
  it('`paas` alone prints the list of commands on stdout and succeeds', async () => {
    const r = await paasCli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: paas');
    expect(r.stdout).toContain('apps:create');
    expect(r.stderr).toBe('');
  });

  it('`paas --version` (and -v) names paas, its version, Node and the platform', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await paasCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`paas/${version} node-${process.version} ${process.platform}-${process.arch}\n`);
    }
  });

  it("prints commander's errors in paas's style, on stderr, exiting 1", async () => {
    const unknown = await paasCli(['frob']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^ ! {4}Unknown command 'frob'/);
    const option = await paasCli(['apps', '--bogus']);
    expect(option.code).toBe(1);
    expect(option.stderr).toMatch(/^ ! {4}Unknown option '--bogus'/);
    // paas's own errors have the same prefix.
    const own = await paasCli(['apps']);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/^ ! {4}Not logged in to http:\/\/127.0.0.1:9\. /);
  });
});
