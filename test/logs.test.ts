// The log pipeline's parts, in-process: times with microseconds, a history that outlives its
// process and stays bounded on disk, and subscriptions that drop (and say so) rather than grow.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppLogs } from '../server/logs/pipeline.js';
import { nowMicros, rfc3339Micros } from '../server/logs/time.js';
import { tempDir } from './helpers/paas.js';

const quiet = { out: () => undefined };

describe('log times', () => {
  it('are RFC 3339 in UTC with six fractional digits, and never go backwards', () => {
    expect(rfc3339Micros(Date.UTC(2026, 10, 23, 20, 31, 5, 123) * 1000 + 456)).toBe('2026-11-23T20:31:05.123456Z');
    let last = nowMicros();
    for (let i = 0; i < 1000; i++) {
      const now = nowMicros();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
    expect(Math.abs(nowMicros() / 1000 - Date.now())).toBeLessThan(50);
  });
});

describe('log history', () => {
  it('keeps the last PAAS_LOG_HISTORY lines of each app across a restart, and drops a destroyed app’s', async () => {
    const dir = tempDir();
    const first = new AppLogs({ dir, limit: 5, ...quiet });
    for (let i = 1; i <= 8; i++) first.append('keep', 'app[web.1]', `line ${i}`);
    first.append('other', 'router', 'at=info status=200');
    await first.flush();
    const second = new AppLogs({ dir, limit: 5, ...quiet });
    expect(second.recent('keep', 100).map((l) => l.line)).toEqual(['line 4', 'line 5', 'line 6', 'line 7', 'line 8']);
    expect(second.recent('keep', 2).map((l) => l.line)).toEqual(['line 7', 'line 8']);
    expect(second.recent('keep', 1)[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    second.forget('other');
    expect(fs.existsSync(path.join(dir, 'other.jsonl'))).toBe(false);
    expect(new AppLogs({ dir, limit: 5, ...quiet }).recent('other', 10)).toEqual([]);
  });

  it('stays bounded on disk: the file is compacted once it holds twice the limit', async () => {
    const dir = tempDir();
    const logs = new AppLogs({ dir, limit: 10, ...quiet });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 7; i++) logs.append('chatty', 'app[web.1]', `r${round} l${i}`);
      await logs.flush();
    }
    const rows = fs.readFileSync(path.join(dir, 'chatty.jsonl'), 'utf8').trim().split('\n');
    expect(rows.length).toBeLessThan(20);
    expect(JSON.parse(rows[rows.length - 1]).line).toBe('r9 l6');
    // A burst far past the limit between two writes: only its last `limit` lines reach the disk.
    for (let i = 0; i < 5000; i++) logs.append('chatty', 'app[web.1]', `burst ${i}`);
    expect(logs.recent('chatty', 3).map((l) => l.line)).toEqual(['burst 4997', 'burst 4998', 'burst 4999']);
    await logs.flush();
    expect(fs.readFileSync(path.join(dir, 'chatty.jsonl'), 'utf8').trim().split('\n').length).toBeLessThan(20);
    const again = new AppLogs({ dir, limit: 10, ...quiet }).recent('chatty', 100).map((l) => l.line);
    expect(again).toEqual(Array.from({ length: 10 }, (_, i) => `burst ${4990 + i}`));
  });

  it('survives a line cut short by a crash mid-write', async () => {
    const dir = tempDir();
    const logs = new AppLogs({ dir, limit: 10, ...quiet });
    logs.append('torn', 'app[web.1]', 'whole');
    await logs.flush();
    fs.appendFileSync(path.join(dir, 'torn.jsonl'), '{"time":"2026-');
    expect(new AppLogs({ dir, limit: 10, ...quiet }).recent('torn', 10).map((l) => l.line)).toEqual(['whole']);
  });
});

describe('our stdout', () => {
  it('leaves lines out while its reader is 8 MiB behind, then says how many', async () => {
    const written: string[] = [];
    let backlog = 0;
    const logs = new AppLogs({ out: (t) => written.push(t), outBacklog: () => backlog });
    logs.append('app', 'app[web.1]', 'one');
    await logs.flush();
    backlog = 9 * 1024 * 1024;
    logs.append('app', 'app[web.1]', 'lost');
    logs.append('app', 'app[web.1]', 'lost too');
    await logs.flush();
    backlog = 0;
    logs.append('app', 'app[web.1]', 'two');
    await logs.flush();
    expect(written.join('').split('\n').filter(Boolean).map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'app app[web.1]: one',
      'paas: 2 log lines were left out of this output: it was read more slowly than they came (they are in `paas logs`, tails and drains)',
      'app app[web.1]: two',
    ]);
    // Left out of stdout only: the history has them.
    expect(logs.recent('app', 10).map((l) => l.line)).toEqual(['one', 'lost', 'lost too', 'two']);
  });
});

describe('subscriptions', () => {
  it('deliver every line to a consumer that keeps up, and tell it when lines wait', () => {
    const logs = new AppLogs(quiet);
    let ready = 0;
    const sub = logs.subscribe('app', () => ready++);
    logs.append('app', 'app[web.1]', 'one');
    logs.append('app', 'app[web.1]', 'two');
    logs.append('elsewhere', 'app[web.1]', 'not mine');
    expect(ready).toBe(1);
    expect(sub.take().map((e) => [e.app, e.line])).toEqual([
      ['app', 'one'],
      ['app', 'two'],
    ]);
    logs.append('app', 'router', 'three');
    expect(ready).toBe(2);
    sub.close();
    logs.append('app', 'app[web.1]', 'after close');
    expect(sub.take()).toEqual([]);
  });

  it('tell the consumer again, urgently, when the queue is half full', () => {
    const logs = new AppLogs(quiet);
    const calls: boolean[] = [];
    const sub = logs.subscribe('burst', (urgent) => calls.push(urgent), 10);
    for (let i = 0; i < 8; i++) logs.append('burst', 'app[web.1]', `line ${i}`);
    expect(calls).toEqual([false, true]);
    expect(sub.take()).toHaveLength(8);
  });

  it('end when their app is destroyed, and the consumer is told', () => {
    const logs = new AppLogs(quiet);
    let ready = 0;
    const sub = logs.subscribe('gone', () => ready++);
    logs.forget('gone');
    expect(sub.ended).toBe(true);
    expect(ready).toBe(1);
  });

  it('drop what a slow consumer cannot take, bounded, and report it as L10 with the count', () => {
    const logs = new AppLogs(quiet);
    const sub = logs.subscribe('app', () => undefined, 100);
    for (let i = 0; i < 1000; i++) logs.append('app', 'app[web.1]', `line ${i}`);
    expect(sub.pending).toBeLessThanOrEqual(101);
    const got = sub.take();
    expect(got[0].line).toMatch(/^Error L10 \(output buffer overflow\): 900 messages dropped since \d{4}-.*Z\.$/);
    expect(got[0].source).toBe('paas[logplex]');
    expect(got.slice(1).map((e) => e.line)).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i}`));
    logs.append('app', 'app[web.1]', 'caught up');
    expect(sub.take().map((e) => e.line)).toEqual(['caught up']);
  });
});
