/** A coloured dot with its word beside it, so the state never rests on colour alone. */
export function StatusDot({ kind, label }: { kind: string; label: string }) {
  return (
    <span class={`dot dot-${kind}`}>
      <span aria-hidden="true" class="dot-mark" />
      {label}
    </span>
  );
}
