// A drain's sender on its own: batches, retries with backoff while its bounded queue drops and says
// so with L10 once the receiver is back, never holds up the pipeline, and stops within its bound.
import { describe, expect, it, vi } from 'vitest';
import { DrainSender, type SenderOptions } from '../server/drains/sender.js';
import { frame } from '../server/drains/syslog.js';
import type { Transport } from '../server/drains/transports.js';
import { AppLogs, type LogEvent } from '../server/logs/pipeline.js';

const OPTS: SenderOptions = { maxBatch: 3, lingerMs: 0, minBackoffMs: 10, maxBackoffMs: 40, log: () => undefined };

/** A receiver that fails while `down` and keeps every batch it accepts. */
function fakeTransport(): Transport & { down: boolean; batches: LogEvent[][]; attempts: number; closed: number } {
  return {
    down: false,
    batches: [],
    attempts: 0,
    closed: 0,
    send(events) {
      this.attempts++;
      if (this.down) return Promise.reject(new Error('connection refused'));
      this.batches.push([...events]);
      return Promise.resolve();
    },
    close() {
      this.closed++;
    },
  };
}

describe('DrainSender', () => {
  it('sends in batches of at most maxBatch, in order', async () => {
    const logs = new AppLogs({ out: () => undefined });
    const t = fakeTransport();
    const sender = new DrainSender('d', (ready) => logs.subscribe('a', ready, 100), t, OPTS);
    for (let i = 0; i < 7; i++) logs.append('a', 'app[web.1]', `line ${i}`);
    await vi.waitFor(() => expect(t.batches.flat()).toHaveLength(7));
    expect(t.batches.every((b) => b.length <= 3)).toBe(true);
    expect(t.batches.flat().map((e) => e.line)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `line ${i}`));
    await sender.stop(100);
  });

  it('keeps a batch of long lines to about maxBatchBytes, and sends a line longer than that alone', async () => {
    const logs = new AppLogs({ out: () => undefined });
    const t = fakeTransport();
    const sender = new DrainSender('d', (ready) => logs.subscribe('a', ready, 100), t, { ...OPTS, maxBatch: 100, maxBatchBytes: 1000 });
    for (let i = 0; i < 6; i++) logs.append('a', 'app[web.1]', `${i}`.repeat(i === 3 ? 5000 : 300));
    await vi.waitFor(() => expect(t.batches.flat()).toHaveLength(6));
    // 300-character lines cost about 400 bytes each: two to a batch; the 5,000-character one alone.
    expect(t.batches.map((b) => b.map((e) => e.line[0]).join(''))).toEqual(['01', '2', '3', '45']);
    await sender.stop(100);
  });

  it('retries a failed batch with backoff while the queue drops beyond its bound, then reports L10', async () => {
    const logs = new AppLogs({ out: () => undefined });
    const t = fakeTransport();
    t.down = true;
    const sender = new DrainSender('d', (ready) => logs.subscribe('a', ready, 5), t, OPTS);
    logs.append('a', 'app[web.1]', 'first');
    await vi.waitFor(() => expect(t.attempts).toBeGreaterThan(2));
    // Appending never waits on the dead drain; what the queue cannot hold is counted.
    for (let i = 0; i < 20; i++) logs.append('a', 'app[web.1]', `more ${i}`);
    t.down = false;
    await vi.waitFor(() => expect(t.batches.flat().map((e) => e.line)).toContain('more 4'));
    const lines = t.batches.flat().map((e) => e.line);
    expect(lines[0]).toBe('first');
    expect(lines[1]).toMatch(/^Error L10 \(output buffer overflow\): 15 messages dropped since /);
    expect(lines.slice(2)).toEqual(['more 0', 'more 1', 'more 2', 'more 3', 'more 4']);
    await sender.stop(100);
  });

  it('stops within its flush bound however dead the drain is, and lets go of its subscription', async () => {
    const logs = new AppLogs({ out: () => undefined });
    const t = fakeTransport();
    t.down = true;
    const sender = new DrainSender('d', (ready) => logs.subscribe('a', ready, 5), t, { ...OPTS, minBackoffMs: 10_000, maxBackoffMs: 10_000 });
    logs.append('a', 'app[web.1]', 'never');
    await vi.waitFor(() => expect(t.attempts).toBe(1));
    const started = Date.now();
    await sender.stop(200);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(t.closed).toBeGreaterThan(0);
  });

  it('frames a line as octet-counted RFC 5424, counting bytes', () => {
    const event: LogEvent = { app: 'shop', time: '2026-11-22T05:45:25.123456Z', source: 'app[web.1]', line: 'héllo' };
    const msg = '<190>1 2026-11-22T05:45:25.123456Z shop app web.1 - - héllo';
    expect(frame(event)).toBe(`${Buffer.byteLength(msg)} ${msg}`);
    expect(frame({ ...event, source: 'router' })).toContain(' shop router router - - ');
  });
});
