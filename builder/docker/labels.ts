/**
 * The labels of a slug image. The same names as the runtime's LABELS
 * (server/runtime/docker/engine.ts); the builder keeps its own copy, since dependencies point from
 * the server to the builder, never back.
 */
export const IMAGE_LABELS = { managed: 'paas.managed', app: 'paas.app', build: 'paas.build', commit: 'paas.commit' } as const;

/** The tag of an app's slug image. */
export function imageTag(app: string, buildId: string): string {
  return `paas/${app}:${buildId}`;
}
