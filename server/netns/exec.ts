import { spawn } from 'node:child_process';
import { apart } from '../../lib/run-apart.js';

/** A failed `ip`, `nft` or `iptables` run: its first line of stderr says why. */
export class NetCommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')}: ${stderr.trim().split('\n')[0] || 'failed'}`);
  }
}

/**
 * Runs a network tool (argv only, never a shell) with `input` on its stdin (`nft -f -`,
 * `ip -batch -`: what would be many processes is one), in a fixed environment.
 */
export function netTool(argv: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), apart({ env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    if (input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
    child.on('error', (e) => reject(new NetCommandError(argv, e.message)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new NetCommandError(argv, err || out))));
  });
}
