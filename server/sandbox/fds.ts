import fs from 'node:fs';

const O_CLOEXEC = 0o2000000;

/**
 * Closes the file descriptors paas inherited from whatever started it (a shell redirect, a process
 * manager's pipe), which every app process would otherwise inherit in turn: an operator's file
 * opened as fd 30 would be readable by every dyno. Node opens its own close-on-exec, so an fd
 * without that flag, other than stdio and Node's IPC channel, came from outside. Linux only.
 */
export function closeInheritedFds(): number[] {
  let fds: number[];
  try {
    fds = fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => fd > 2);
  } catch {
    return [];
  }
  const ipc = Number(process.env.NODE_CHANNEL_FD ?? -1);
  const closed: number[] = [];
  for (const fd of fds) {
    if (fd === ipc) continue;
    try {
      const flags = /^flags:\s+([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags === undefined || (parseInt(flags, 8) & O_CLOEXEC) !== 0) continue;
      fs.closeSync(fd);
      closed.push(fd);
    } catch {
      // Gone meanwhile (the fd readdir itself used was one).
    }
  }
  return closed;
}
