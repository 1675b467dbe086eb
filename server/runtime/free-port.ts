import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Asks the kernel for a free port on `host` (loopback by default). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The uids of the sockets listening on a TCP port (IPv4 and IPv6), read from a network namespace's
 * `net` directory: `/proc/net` for the host's, `/proc/<pid>/net` for a container's.
 */
export function listenerUids(port: number, netDir: string): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const uids: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(netDir, table), 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      // sl local_address rem_address st … uid: a listening socket has state 0A.
      const f = row.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') uids.push(Number(f[7]));
    }
  }
  return uids;
}
