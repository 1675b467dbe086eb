import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputFile, readOutput } from '../server/outputs/file.js';
import { openOutput, outputPath, pruneOutputs, readKeptOutput } from '../server/outputs/store.js';
import { dataPaths } from '../server/store/paths.js';
import { tempDir } from './helpers/paas.js';

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

describe('kept outputs', () => {
  it('keeps everything of a short output, and the head and tail of a long one, saying what was cut', async () => {
    const dir = tempDir();
    const short = new OutputFile(path.join(dir, 'short.log'), { headBytes: 100, tailBytes: 100 });
    for (const l of lines(1, 3)) short.write(l);
    await short.close();
    // A line after close (a late progress line) is not kept.
    short.write('too late');
    await new Promise((r) => setTimeout(r, 200));
    expect(await readOutput(path.join(dir, 'short.log'))).toBe('line 1\nline 2\nline 3\n');

    const bounds = { headBytes: 70, tailBytes: 40 };
    const long = new OutputFile(path.join(dir, 'long.log'), bounds);
    for (const l of lines(1, 1000)) long.write(l);
    await long.close();
    const text = (await readOutput(path.join(dir, 'long.log'), bounds))!;
    const note = ' !     paas kept the first 70 bytes and the last 40 bytes of this output; 987 line(s) in between were not kept.';
    expect(text).toBe([...lines(1, 9), note, ...lines(997, 1000), ''].join('\n'));
    expect(fs.readdirSync(dir).sort()).toEqual(['long.log', 'short.log']);
  });

  it('reads an output its server never closed (killed mid-build), its tail bounded', async () => {
    const dir = tempDir();
    const bounds = { headBytes: 20, tailBytes: 30 };
    const file = path.join(dir, 'crashed.log');
    const out = new OutputFile(file, bounds);
    for (const l of lines(1, 500)) out.write(l);
    // No close: wait for the batched write, as a server would have done before it was killed.
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.existsSync(`${file}.tail`)).toBe(true);
    expect(fs.statSync(`${file}.tail`).size).toBeLessThan(2 * bounds.tailBytes + 120);
    const text = (await readOutput(file, bounds))!;
    expect(text.startsWith('line 1\nline 2\n')).toBe(true);
    expect(text).toMatch(/paas kept the first 20 bytes and the last 30 bytes of this output; .* in between were not kept/);
    expect(text.endsWith('line 499\nline 500\n')).toBe(true);
    expect(await readOutput(path.join(dir, 'none.log'))).toBeUndefined();
  });

  it('keeps only the newest outputs of an app, and names files only from build ids and versions', async () => {
    const paths = dataPaths(tempDir());
    const ids = ['1', '2', '3', '4'].map((n) => `0000000${n}-0000-4000-8000-000000000000`);
    for (const id of ids) {
      const out = openOutput(paths, 'build', 'app', id);
      out.write(`build ${id}`);
      await out.close();
    }
    for (const v of [1, 2, 3]) {
      const out = openOutput(paths, 'release', 'app', v);
      out.write(`release v${v}`);
      await out.close();
    }
    await pruneOutputs(paths, 'build', 'app', ids.slice(2));
    await pruneOutputs(paths, 'release', 'app', [3]);
    expect(fs.readdirSync(path.join(paths.builds, 'app')).sort()).toEqual(ids.slice(2).map((id) => `${id}.log`));
    expect(fs.readdirSync(path.join(paths.releaseOutputs, 'app'))).toEqual(['v3.log']);
    expect(await readKeptOutput(paths, 'build', 'app', ids[3])).toBe(`build ${ids[3]}\n`);
    expect(await readKeptOutput(paths, 'build', 'app', ids[0])).toBeUndefined();
    expect(() => outputPath(paths, 'build', 'app', '../../api-token')).toThrow('not a build id');
  });
});
