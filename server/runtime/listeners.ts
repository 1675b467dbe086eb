// Who listens on which TCP port, read from /proc: what tells a dyno's own listener from another
// program's, and what names the port a web dyno listens on when it is not $PORT.
import fs from 'node:fs';
import path from 'node:path';

/** A listening TCP socket of a network namespace. */
interface Listener {
  port: number;
  /** The local address as the table writes it: hex, in the kernel's byte order. */
  address: string;
  uid: number;
  inode: string;
}

/**
 * The listening sockets (IPv4 and IPv6) of a network namespace, from its `net` directory:
 * `/proc/net` for the host's, `/proc/<pid>/net` for a process's (a container's).
 */
function tcpListeners(netDir: string): Listener[] {
  const found: Listener[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(netDir, table), 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode: listening is state 0A.
      const f = row.trim().split(/\s+/);
      if (f[3] !== '0A') continue;
      const colon = f[1].lastIndexOf(':');
      found.push({ port: parseInt(f[1].slice(colon + 1), 16), address: f[1].slice(0, colon), uid: Number(f[7]), inode: f[9] });
    }
  }
  return found;
}

/** The uids of the sockets listening on a TCP port of a network namespace (see tcpListeners). */
export function listenerUids(port: number, netDir: string): number[] {
  return tcpListeners(netDir).filter((l) => l.port === port).map((l) => l.uid);
}

/** The sockets listening on a TCP port of a network namespace, with their owners' uids and inodes. */
export function portListeners(port: number, netDir: string): { uid: number; inode: string }[] {
  return tcpListeners(netDir)
    .filter((l) => l.port === port)
    .map(({ uid, inode }) => ({ uid, inode }));
}

/** The processes (of all /proc shows) that hold the socket `inode` open: who a listener is. */
export function socketHolders(inode: string): number[] {
  const pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  return pids.filter((pid) => socketInodes([pid]).has(inode));
}

/** The inodes of the sockets the processes `pids` hold open (those /proc lets us read). */
function socketInodes(pids: number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return inodes;
}

const unique = (ports: number[]) => [...new Set(ports)].sort((a, b) => a - b);

/**
 * The TCP ports the processes `pids` listen on, in their own network namespace: a listening socket
 * counts when one of them holds it open. Empty when /proc shows none of it.
 */
export function processListenPorts(pids: number[]): number[] {
  if (pids.length === 0) return [];
  const inodes = socketInodes(pids);
  if (inodes.size === 0) return [];
  return unique(tcpListeners(`/proc/${pids[0]}/net`).filter((l) => inodes.has(l.inode)).map((l) => l.port));
}

/** 127.0.0.11 as /proc/net/tcp writes it: Docker's embedded DNS, which listens in every container on a user-defined network. */
const DOCKER_DNS = '0B00007F';

/**
 * The TCP ports listened on in a container's network namespace (`/proc/<pid>/net` of its init),
 * all of them its own but Docker's embedded DNS resolver.
 */
export function namespaceListenPorts(netDir: string): number[] {
  return unique(tcpListeners(netDir).filter((l) => l.address !== DOCKER_DNS).map((l) => l.port));
}
