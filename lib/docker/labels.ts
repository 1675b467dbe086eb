/**
 * The labels on every Docker object paas makes: builds, stacks and (server/runtime/docker) dynos.
 * paas lists, stops and removes only objects that carry `paas.managed=true`, so other containers
 * and images on the host are never touched. The one table of their names: the server imports it
 * from here, since dependencies point from the server to the builder, never back.
 */
export const LABELS = {
  managed: 'paas.managed',
  app: 'paas.app',
  type: 'paas.type',
  release: 'paas.release',
  dyno: 'paas.dyno',
  build: 'paas.build',
  commit: 'paas.commit',
  kind: 'paas.kind',
  /**
   * `deps` on a slug build's install stage and `build` on its build stage: the caches of the next
   * push, of which image retention keeps the newest of each.
   */
  stage: 'paas.stage',
  /** Which paas server (data dir) made it: servers sharing an engine never touch each other's objects. */
  instance: 'paas.instance',
  /** The stack image's recipe hash and the Node.js and npm versions in it. */
  recipe: 'paas.stack.recipe',
  node: 'paas.stack.node',
  npm: 'paas.stack.npm',
} as const;

/** The tag of an app's slug image. */
export function imageTag(app: string, buildId: string): string {
  return `paas/${app}:${buildId}`;
}
