// The app log's history on disk (server/logs/history.ts) after a write that failed, as on a full disk.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LogHistory } from '../server/logs/history.js';
import { tempDir } from './helpers/paas.js';

const line = (n: number) => ({ time: `2026-12-07T00:00:0${n}.000000Z`, source: 'app[web.1]', line: `line ${n}` });

describe('log history', () => {
  it('writes again after a failed write, and the lines that failed reach the file too', async () => {
    const dir = tempDir('paas-history-');
    const history = new LogHistory(dir, 100);
    const said = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    // A directory where the file goes: appending fails (EISDIR), as it would with ENOSPC.
    const file = path.join(dir, 'app.jsonl');
    fs.mkdirSync(file);
    history.add('app', line(1));
    history.add('app', line(2));
    await history.flush();
    expect(said.mock.calls.flat().join('\n')).toMatch(/could not write the log history of app .*its next line tries again/);
    said.mockRestore();

    fs.rmdirSync(file);
    history.add('app', line(3));
    await history.flush();
    const kept = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).line);
    expect(kept).toEqual(['line 1', 'line 2', 'line 3']);
    // And a fresh history reads them back, as after a restart.
    expect(new LogHistory(dir, 100).last('app', 10).map((l) => l.line)).toEqual(['line 1', 'line 2', 'line 3']);
  });
});
