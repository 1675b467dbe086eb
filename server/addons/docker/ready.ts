// Readiness by the servers' own protocols over the loopback port Docker publishes: Docker's proxy
// accepts there before the server listens, so a connect alone proves nothing.
import net from 'node:net';

const PROBE_MS = 2000;

/** Opens a connection to 127.0.0.1:`port`, sends `request` and resolves with all it answers until `done` says so or it closes. */
function exchange(port: number, request: Buffer, done: (answer: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(finish, PROBE_MS);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (done(answer)) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

/**
 * Whether PostgreSQL accepts connections: a startup message for the add-on's role and database
 * gets an authentication request ('R') from a server that is up, and an error ('E': "the database
 * system is starting up") or nothing before. As `pg_isready` does, it stops there, sending no password.
 */
export async function postgresReady(port: number, user: string, database: string): Promise<boolean> {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(196608, 4); // protocol 3.0
  const answer = await exchange(port, Buffer.concat([head, params]), (a) => a.length > 0);
  return answer[0] === 0x52;
}

/** A RESP command (an array of bulk strings). */
export function resp(...args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
}

/** Whether Redis answers PING after AUTH: `-LOADING` while it replays its append-only file. */
export async function redisReady(port: number, password: string): Promise<boolean> {
  const answer = await exchange(port, Buffer.concat([resp('AUTH', 'default', password), resp('PING')]), (a) => a.toString().split('\r\n').length > 2);
  return answer.toString().startsWith('+OK\r\n+PONG\r\n');
}
