// The per-app lock: one release at a time, queued changes in arrival order, and what holds it (the
// words of a refused push: "busy with paas gc", not "a deploy in progress" when none is).
import { describe, expect, it } from 'vitest';
import { AppLocks } from '../server/control/locks.js';

describe('AppLocks', () => {
  it('says what holds an app, hands the lock on in arrival order, and is free after', async () => {
    const locks = new AppLocks();
    const gc = await locks.acquire('shop', 'paas gc');
    expect(locks.holder('shop')).toBe('paas gc');
    expect(locks.tryAcquire('shop')).toBeUndefined();
    const order: string[] = [];
    const config = locks.acquire('shop', 'a new release').then((unlock) => (order.push('config'), unlock));
    const scale = locks.acquire('shop', 'a scale').then((unlock) => (order.push('scale'), unlock));
    gc();
    (await config)();
    expect(locks.holder('shop')).toBe('a scale');
    (await scale)();
    expect(order).toEqual(['config', 'scale']);
    expect(locks.holder('shop')).toBeUndefined();
    const push = locks.tryAcquire('shop');
    expect(locks.holder('shop')).toBe('a deploy');
    push!();
    expect(await locks.drain(10)).toBe(true);
  });
});
