// The router's pool of dyno connections (router/pool.ts) with real sockets on loopback.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type UpstreamUser, UpstreamPool } from '../router/pool.js';
import { onCleanup } from './helpers/cleanup.js';
import { listen } from './helpers/router.js';

const idleUser = (): UpstreamUser => ({ onUpstreamConnect: () => undefined, onUpstreamData: () => undefined, onUpstreamClose: () => undefined, onUpstreamDrain: () => undefined });

describe('upstream pool', () => {
  it('takes back a connection its exchange paused (a slow client) reading again: the dyno\'s close is noticed, the next user gets its bytes', async () => {
    const sockets: net.Socket[] = [];
    const dyno = net.createServer((s) => {
      sockets.push(s);
      s.on('data', () => s.write('pong'));
    });
    const port = await listen(dyno);
    onCleanup(() => dyno.close());
    const pool = new UpstreamPool(60_000);
    onCleanup(() => pool.close());
    const target = { host: '127.0.0.1', port };

    const { upstream } = pool.acquire(target, idleUser());
    await new Promise((r) => upstream.socket.once('connect', r));
    // What Exchange does when a client write returns false, just before the response ends.
    upstream.socket.pause();
    pool.release(upstream);
    expect(upstream.socket.isPaused()).toBe(false);

    // The next user of the pooled connection gets the dyno's answer.
    const got: string[] = [];
    const again = pool.acquire(target, { ...idleUser(), onUpstreamData: (chunk) => void got.push(chunk.toString()) });
    expect(again).toMatchObject({ upstream, reused: true });
    upstream.socket.write('ping');
    await expect.poll(() => got.join(''), { timeout: 5000 }).toBe('pong');
    pool.release(upstream);

    // And the dyno's close reaches an idle connection, which then leaves the pool.
    const closed = new Promise((r) => upstream.socket.once('close', r));
    sockets[0].end();
    await closed;
    expect(pool.acquire(target, idleUser()).reused).toBe(false);
  });
});
