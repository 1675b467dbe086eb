import type { Runtime } from '../runtime/types.js';
import { adoptable, type StaleDyno } from '../store/dynos.js';

/**
 * The dynos a previous server left: a persistent runtime (Docker) keeps those of each app's current
 * release, returned per app for adoption, and stops the rest, rows or not; the process runtime stops
 * them all (a server that died by SIGKILL or power loss may have left some running).
 */
export async function takeLeftovers(runtime: Runtime, rows: StaleDyno[], graceMs: number, log: (line: string) => void): Promise<Map<number, StaleDyno[]>> {
  const keep = runtime.persistent ? adoptable(rows) : [];
  const handles = new Set(keep.map((r) => r.handle!));
  let stopped = await runtime.reap(rows.filter((r) => !r.handle || !handles.has(r.handle)), graceMs);
  if (runtime.sweep) stopped += await runtime.sweep(handles, graceMs);
  if (stopped) log(`Stopped ${stopped} dyno(s) left running by a previous paas server that no release wants`);
  const byApp = new Map<number, StaleDyno[]>();
  for (const row of keep) byApp.set(row.app_id, [...(byApp.get(row.app_id) ?? []), row]);
  return byApp;
}
