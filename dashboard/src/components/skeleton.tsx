/** Grey bars in the shape of what is loading (each as high as a real row), so nothing jumps when it comes. */
export function Skeleton({ rows = 3, kind = 'row' }: { rows?: number; kind?: string }) {
  return (
    <div class="skeleton">
      <span class="visually-hidden">Loading…</span>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} aria-hidden="true" class={`skeleton-${kind}`} />
      ))}
    </div>
  );
}
