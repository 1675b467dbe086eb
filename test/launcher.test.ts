// The launcher's fast path (issue 23): a plain command whose first word is a program is exec'd by
// the launcher's own bash instead of a second `bash -c`. Whatever the command, what it does must be
// what `bash -c` does: builtins, globs, quotes, variables, assignments, functions a .profile.d
// script exports, BASH_ENV. Real bash, run as the dyno runs the launcher.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launcher } from '../server/runtime/launcher.js';
import { tempDir } from './helpers/paas.js';

function run(argv: string[], cwd: string, env: Record<string, string> = {}): string {
  // stdin as a dyno has it (not a socket, which makes bash read ~/.bashrc), and a HOME of the test's.
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env: { PATH: '/usr/bin:/bin', HOME: cwd, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return `${r.status}|${r.stdout}|${r.stderr}`;
}

describe('the launcher runs a command as `bash -c` would', () => {
  it.each([
    ['a program with arguments', '/bin/echo a   b c=d'],
    ['a program found on PATH', 'printenv PAAS_PROBE'],
    ['a builtin', 'echo from the builtin'],
    ['a keyword', 'time true'],
    ['a glob', '/bin/echo *.txt'],
    ['quotes', "/bin/echo 'one two'   three"],
    ['a variable', '/bin/echo $PAAS_PROBE'],
    ['an assignment first', 'PAAS_PROBE=x printenv PAAS_PROBE'],
    ['an operator', '/bin/echo a && /bin/echo b'],
    ['exec first', 'exec /bin/echo exec'],
    ['a missing program', 'no-such-program here'],
    ['leading spaces', '   /bin/echo spaced'],
  ])('%s: %s', (_what, command) => {
    const dir = tempDir('paas-launcher-');
    fs.writeFileSync(path.join(dir, 'a.txt'), '');
    fs.writeFileSync(path.join(dir, 'b.txt'), '');
    const env = { PAAS_PROBE: 'probe' };
    // `time` prints durations, which differ run to run by a millisecond: compare them as 0m0.000s.
    const same = (out: string) => out.replace(/paas-launch|bash: line \d+/g, 'bash').replace(/\d+m\d+\.\d+s/g, '0m0.000s');
    expect(same(run([...launcher(true), command], dir, env))).toBe(same(run(['/bin/bash', '-c', command], dir, env)));
  });

  it("runs a function a .profile.d script exports, and reads BASH_ENV, as a fresh bash does", () => {
    const dir = tempDir('paas-launcher-');
    fs.mkdirSync(path.join(dir, '.profile.d'));
    fs.writeFileSync(path.join(dir, '.profile.d', 'fn.sh'), 'printenv() { /bin/echo "the function, not the program"; }\nexport -f printenv\n');
    expect(run([...launcher(true), 'printenv HOME'], dir)).toBe('0|the function, not the program\n|');
    fs.writeFileSync(path.join(dir, 'env.sh'), 'export PAAS_PROBE=from-bash-env\n');
    expect(run([...launcher(true), 'printenv PAAS_PROBE'], dir, { BASH_ENV: path.join(dir, 'env.sh') })).toBe('0|the function, not the program\n|');
    fs.rmSync(path.join(dir, '.profile.d'), { recursive: true });
    expect(run([...launcher(true), 'printenv PAAS_PROBE'], dir, { BASH_ENV: path.join(dir, 'env.sh') })).toBe('0|from-bash-env\n|');
  });
});
