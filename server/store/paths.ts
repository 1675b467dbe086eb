import path from 'node:path';

/** Where everything lives inside PAAS_DATA_DIR. */
export interface DataPaths {
  root: string;
  db: string;
  token: string;
  /** The API's local URL, written at each start: the CLI of the same user finds a server on any PORT by it. */
  apiUrl: string;
  repos: string;
  slugs: string;
  cache: string;
  /** Node.js versions apps ask for (engines.node), one directory each, read-only to apps. */
  node: string;
  /** Package managers (npm, yarn, pnpm) apps build with, one directory per version, and corepack, read-only to apps. */
  tools: string;
  hooks: string;
  /** Each running dyno's scratch layer (what it writes under /app), removed when it stops. */
  scratch: string;
  /** Only the server's uid may enter (mode 0700): it holds the registry settings. */
  run: string;
  /** The operator's registry settings as the server's own npm reads them for builds (slug-builder/registry.ts), inside run/. */
  registry: string;
  /** Each app's log history (`<app>.jsonl`), which outlives a restart. */
  logs: string;
  /** Each build's output (`<app>/<build id>.log`), the newest PAAS_KEEP_RELEASES per app. */
  builds: string;
  /** Each release phase's output (`<app>/v<N>.log`), the newest PAAS_KEEP_RELEASES per app. */
  releaseOutputs: string;
  /** The add-ons' servers on the process runtime: one directory each, owned by its uid. */
  addons: string;
  /** PostgreSQL add-ons' backups (`<addon>/<id>.dump`, pg_dump's custom format). */
  backups: string;
  /** Certificates' PEM files (`<id>/{cert,key}.pem`, 0600 in 0700 dirs): only the server reads them. */
  certs: string;
  /** The ACME account key (`account.pem`, 0600). */
  acme: string;
}

export function dataPaths(root: string): DataPaths {
  return {
    root,
    db: path.join(root, 'paas.db'),
    token: path.join(root, 'api-token'),
    apiUrl: path.join(root, 'api-url'),
    repos: path.join(root, 'repos'),
    slugs: path.join(root, 'slugs'),
    cache: path.join(root, 'cache'),
    node: path.join(root, 'node'),
    tools: path.join(root, 'tools'),
    hooks: path.join(root, 'git-hooks'),
    scratch: path.join(root, 'dynos'),
    run: path.join(root, 'run'),
    registry: path.join(root, 'run', 'registry'),
    logs: path.join(root, 'logs'),
    builds: path.join(root, 'builds'),
    releaseOutputs: path.join(root, 'releases'),
    addons: path.join(root, 'addons'),
    backups: path.join(root, 'backups'),
    certs: path.join(root, 'certs'),
    acme: path.join(root, 'acme'),
  };
}

/** The bare repository of an app. `name` must already be a validated app name. */
export function repoDir(paths: DataPaths, name: string): string {
  return path.join(paths.repos, `${name}.git`);
}
