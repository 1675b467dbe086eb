import net from 'node:net';

export type RespValue = string | number | null | RespValue[] | Error;

/** Encodes one command as a RESP array of bulk strings. */
function encode(args: string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''));
}

/** Parses one reply at `at`; undefined when the buffer does not hold all of it yet. */
function parse(buf: Buffer, at: number): { value: RespValue; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const head = buf.toString('utf8', at + 1, eol);
  switch (String.fromCharCode(buf[at])) {
    case '+':
      return { value: head, end: eol + 2 };
    case '-':
      return { value: new Error(head), end: eol + 2 };
    case ':':
      return { value: Number(head), end: eol + 2 };
    case '$': {
      const len = Number(head);
      if (len < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return undefined;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), end: eol + 2 + len + 2 };
    }
    case '*': {
      const n = Number(head);
      if (n < 0) return { value: null, end: eol + 2 };
      const items: RespValue[] = [];
      let end = eol + 2;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`not a RESP reply (${JSON.stringify(head.slice(0, 20))})`);
  }
}

/**
 * Sends `commands` to a Redis server (on a loopback port, or the socket `target` opens) in one go and resolves with one reply per command (an error
 * reply is an Error value, not a rejection). A tiny client, so paas needs no Redis package. The
 * connection closing early resolves with the replies so far (SHUTDOWN closes it, by design).
 */
export function redisCommands(target: number | (() => net.Socket), commands: string[][], timeoutMs = 2000, host = '127.0.0.1'): Promise<RespValue[]> {
  const where = typeof target === 'number' ? `${host}:${target}` : 'its socket';
  return new Promise((resolve, reject) => {
    const sock = typeof target === 'number' ? net.connect({ host, port: target }) : target();
    let buf = Buffer.alloc(0);
    const replies: RespValue[] = [];
    const done = (err?: Error) => {
      sock.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    sock.setTimeout(timeoutMs, () => done(new Error(`redis at ${where} did not answer within ${timeoutMs} ms`)));
    sock.on('connect', () => sock.write(Buffer.concat(commands.map(encode))));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        for (let r = parse(buf, 0); r; r = parse(buf, 0)) {
          replies.push(r.value);
          buf = buf.subarray(r.end);
          if (replies.length === commands.length) return done();
        }
      } catch (err) {
        done(err as Error);
      }
    });
    sock.on('error', (err) => done(err));
    sock.on('close', () => done());
  });
}
