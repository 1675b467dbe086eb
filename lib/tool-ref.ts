// What a slug records of each package manager it was built with. Here rather than in builder/tools.ts
// because the runtimes hand these to the dynos they start and must not import the builder.

export type ToolName = 'npm' | 'yarn' | 'pnpm';

/** A package manager as an app's slug records it: enough to install it again. */
export interface ToolRef {
  name: ToolName;
  version: string;
  /** What corepack installs: `name@version`, pinned to a hash (the app's, or the registry's sha512 of the tarball). */
  reference: string;
  /** Its directory under the tools root: `<name>/<version>`, or with the app's own pin `<name>/<version>+<algo>.<hex>`. */
  dir: string;
}
