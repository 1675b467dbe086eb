/** The longest a crashed dyno waits before it is started again. */
export const MAX_RESTART_DELAY_MS = 5 * 60_000;
/** A dyno that stayed up this long before it crashed starts its next crash streak from zero. */
export const STABLE_AFTER_MS = 60_000;

/**
 * How long to wait before restarting a dyno that crashed for the `streak`-th time in a row (1 for
 * the first): the first restart is at once, then 1 s, 2 s, 4 s … up to MAX_RESTART_DELAY_MS.
 */
export function restartDelay(streak: number): number {
  if (streak <= 1) return 0;
  return Math.min(1000 * 2 ** (streak - 2), MAX_RESTART_DELAY_MS);
}
