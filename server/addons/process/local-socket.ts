// paas talks to its own add-on servers over unix sockets in `<addon dir>/run`, a directory only the
// add-on's uid (and root, paas) can enter: unlike a loopback port, which any app may bind while the
// add-on is down, nobody else can put a listener there, so a credential sent on it reaches the
// server paas started and no one else.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The longest unix socket path the kernel takes (sun_path is 108 bytes, with its NUL). */
const SUN_PATH_MAX = 107;

/**
 * Connects to the unix socket `name` in `dir`. A data dir deep enough to make the path too long
 * for a socket address is reached through a descriptor of the directory (`/proc/self/fd/N/name`).
 */
export function connectLocal(dir: string, name: string): net.Socket {
  const full = path.join(dir, name);
  if (Buffer.byteLength(full) <= SUN_PATH_MAX) return net.connect({ path: full });
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const socket = net.connect({ path: `/proc/self/fd/${fd}/${name}` });
  // The kernel resolved the path at connect(): the directory's descriptor is not needed after it.
  let open = true;
  const close = () => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  for (const event of ['connect', 'error', 'close']) socket.once(event, close);
  return socket;
}
