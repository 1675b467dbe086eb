// The one-off part of the runtime contract (`paas run`): input, raw output and a pseudo-terminal.
import { expect, it, onTestFinished, vi } from 'vitest';
import type { DynoSpec, Runtime, RunningDyno } from '../../server/runtime/types.js';

/** Starts a one-off dyno whose output is collected raw, stopped when the test ends. */
async function oneOff(rt: Runtime, base: DynoSpec, extra: Partial<DynoSpec>): Promise<{ dyno: RunningDyno; out: () => string; err: () => string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const dyno = await rt.start({ ...base, name: 'run.1', stdin: true, ...extra, onOutput: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk) });
  onTestFinished(() => rt.stop(dyno, 1000));
  return { dyno, out: () => Buffer.concat(out).toString(), err: () => Buffer.concat(err).toString() };
}

/** Contract tests of one-off dynos; `spec` makes a dyno spec running a shell command. */
export function oneOffContract(make: () => Runtime, spec: (command: string) => DynoSpec): void {
  it('pipes stdin to a one-off dyno, end-of-file included, and hands back its output unsplit', async () => {
    const { dyno, out, err } = await oneOff(make(), spec('wc -c; printf "no newline" >&2; read -r x || echo eof'), {});
    expect(dyno.stdin).toBeDefined();
    for (let i = 0; i < 100; i++) dyno.stdin!.write(Buffer.from('0123456789'));
    dyno.stdin!.end();
    expect(await dyno.exited).toEqual({ code: 0, signal: null });
    expect(out().trim().split('\n')).toEqual(['1000', 'eof']);
    expect(err()).toBe('no newline');
  });

  it("gives a one-off dyno's exit code from what it read", async () => {
    const { dyno } = await oneOff(make(), spec('read -r code; exit "$code"'), {});
    dyno.stdin!.write(Buffer.from('3\n'));
    expect(await dyno.exited).toEqual({ code: 3, signal: null });
  });

  it("holds a one-off dyno's output while its reader asks, so a slow client slows the dyno", async () => {
    const { dyno, out } = await oneOff(make(), spec('head -c 20000000 /dev/zero | tr "\\0" a; echo; echo done'), {});
    dyno.stdin!.end();
    expect(dyno.flow).toBeDefined();
    dyno.flow!(false);
    await new Promise((r) => setTimeout(r, 1000));
    // Only what the pipes and the stream buffers hold got through.
    expect(out().length).toBeLessThan(5_000_000);
    dyno.flow!(true);
    expect(await dyno.exited).toEqual({ code: 0, signal: null });
    expect(out().length).toBe(20_000_000 + 'done'.length + 2);
  });

  it('delivers all of a one-off dyno\'s output held for a slow reader when it exits', async () => {
    const { dyno, out } = await oneOff(make(), spec('head -c 100000 /dev/zero; echo done'), {});
    dyno.stdin!.end();
    dyno.flow!(false);
    // Held well past the time an exited dyno's output may take to end.
    expect(await dyno.exited).toEqual({ code: 0, signal: null });
    expect(out()).toHaveLength(100_000 + 'done'.length + 1);
  });

  it('runs a one-off dyno on a pseudo-terminal of the size asked, and passes a new size on', async () => {
    const { dyno, out } = await oneOff(make(), spec('tty; stty size; read -r x; stty size; exit 5'), { tty: { rows: 30, cols: 100 } });
    expect(dyno.resize).toBeDefined();
    await vi.waitFor(() => expect(out()).toContain('30 100'), { timeout: 10_000 });
    expect(out()).toMatch(/\/dev\/pts\/\d+/);
    await dyno.resize!({ rows: 40, cols: 120 });
    dyno.stdin!.write(Buffer.from('go\r'));
    expect(await dyno.exited).toEqual({ code: 5, signal: null });
    expect(out()).toContain('40 120');
  });
}
