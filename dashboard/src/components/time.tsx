import { useEffect, useState } from 'preact/hooks';
import { exactTime, relativeTime } from '../time.js';

const TICK_MS = 20_000;
const ticking = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

/** Re-renders the caller every TICK_MS (one timer for the whole page), so relative times move on. */
function useTick(): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const fn = () => setTick((n) => n + 1);
    ticking.add(fn);
    timer ??= setInterval(() => ticking.forEach((f) => f()), TICK_MS);
    return () => {
      ticking.delete(fn);
      if (!ticking.size) timer = void clearInterval(timer);
    };
  }, []);
}

/** "3 minutes ago", with the exact time on hover and in the datetime attribute. */
export function Time({ iso }: { iso: string }) {
  useTick();
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {relativeTime(iso, Date.now())}
    </time>
  );
}
