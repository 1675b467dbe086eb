// What /proc says about processes a test run may have left behind. Linux only, as the suite is.
import fs from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line, NULs turned into spaces. */
  cmdline: string;
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // gone, or not ours to read
  }
}

function info(pid: number): (ProcessInfo & { state: string }) | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // pid (comm) state ppid …; comm may hold spaces and parentheses, so split after its last ')'.
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(ppid), state, cmdline: (read(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ').trim() };
}

/** Every live process but this one (zombies are gone in all but name, and are left out). */
function all(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const p = info(Number(name));
    if (p && p.state !== 'Z') out.push({ pid: p.pid, ppid: p.ppid, cmdline: p.cmdline });
  }
  return out;
}

/** Every live process but this one. */
export function liveProcesses(): ProcessInfo[] {
  return all();
}

/** The live descendants of `pid`: what it started and what those started, unless reparented away. */
export function descendants(pid = process.pid): ProcessInfo[] {
  const procs = all();
  const found: ProcessInfo[] = [];
  const parents = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/** Live processes that name `dir` in their command line or environment, or work inside it. */
export function processesUsing(dir: string): ProcessInfo[] {
  return all().filter((p) => {
    if (p.cmdline.includes(dir)) return true;
    const cwd = (() => {
      try {
        return fs.readlinkSync(`/proc/${p.pid}/cwd`);
      } catch {
        return '';
      }
    })();
    return cwd === dir || cwd.startsWith(`${dir}/`) || (read(`/proc/${p.pid}/environ`) ?? '').includes(dir);
  });
}

/** Resident memory of a process, in KiB (VmRSS from /proc/<pid>/status), 0 once it is gone. */
export function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(read(`/proc/${pid}/status`) ?? '')?.[1] ?? 0);
}

/** SIGKILLs each of `procs` that is still there. */
export function killAll(procs: ProcessInfo[]): void {
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

export function describeProcesses(procs: ProcessInfo[]): string {
  return procs.map((p) => `  pid ${p.pid}: ${p.cmdline.slice(0, 300) || '(no command line)'}`).join('\n');
}

/** Whether process `pid` holds a socket listening on TCP `port` (its fds against /proc/net/tcp*). */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (read(table) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port) inodes.add(f[9]);
    }
  }
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
    } catch {
      return false;
    }
  });
}
