/** "crashed" → "Crashed": the API's states, as words beside a dot. */
export const stateLabel = (state: string): string => state.charAt(0).toUpperCase() + state.slice(1);

/** A coloured dot with its word beside it, so the state never rests on colour alone. */
export function StatusDot({ kind, label = stateLabel(kind) }: { kind: string; label?: string }) {
  return (
    <span class={`dot dot-${kind}`}>
      <span aria-hidden="true" class="dot-mark" />
      {label}
    </span>
  );
}
