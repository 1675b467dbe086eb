import fs from 'node:fs';

/** Sends a signal to a whole process group, so `npm start` and the node it spawned both get it. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * The live (non-zombie) members of a process group, from /proc. Zombies do not count: an app
 * orphaned by its shell is reaped by init, which may take a while, and it is done with its port.
 * Without /proc, falls back to kill(0), which cannot tell zombies apart.
 */
export function groupMembers(pgid: number): number[] {
  try {
    process.kill(-pgid, 0);
  } catch {
    return [];
  }
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [pgid];
  }
  return pids.map(Number).filter((pid) => {
    try {
      // Fields after the parenthesised command: state, ppid, pgrp, …
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z';
    } catch {
      return false;
    }
  });
}

/** True when the process's environment holds `name=value` exactly (readable for our own processes). */
export function hasEnv(pid: number, name: string, value: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${name}=${value}`);
  } catch {
    return false;
  }
}

/**
 * SIGTERM to the group, then SIGKILL once `graceMs` has passed with any member still running.
 * `spare` (a sandbox's monitor process) gets no SIGTERM: it goes when the app has gone.
 */
export async function terminateGroup(pgid: number, graceMs: number, spare?: number): Promise<void> {
  if (spare === undefined) signalGroup(pgid, 'SIGTERM');
  else {
    for (const pid of groupMembers(pgid)) {
      if (pid === spare) continue;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Gone meanwhile.
      }
    }
  }
  // The shell may die of SIGTERM at once while the app it started is still draining, so wait
  // for the whole group, not just the shell, before the SIGKILL.
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupMembers(pgid).length > 0) await new Promise((r) => setTimeout(r, 25));
  signalGroup(pgid, 'SIGKILL');
}
