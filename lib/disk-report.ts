// What `paas status` and `paas gc` answer, shared by the server that makes them and the CLI that shows them.

/** What `paas gc` collects, each reported apart. */
export const GC_KINDS = ['slugs', 'images', 'node', 'tools', 'outputs', 'backups', 'scratch'] as const;
export type GcKind = (typeof GC_KINDS)[number];

/** What one run of `paas gc` freed (or, with `dry_run`, would free): POST /v1/gc. */
export interface GcReport {
  dry_run: boolean;
  /** Releases kept per app (PAAS_KEEP_RELEASES); every one of them can still be rolled back to. */
  kept_releases: number;
  freed: Record<GcKind, { bytes: number; items: number }>;
  total_bytes: number;
  /** What was left for a later run, and why (a build in flight uses Node and tool versions). */
  notes: string[];
}

/** The server as `paas status` shows it, what runs, where its data is and how full that is: GET /v1/status. */
export interface ServerStatus {
  version: string;
  runtime: string;
  data_dir: string;
  disk: { total_bytes: number; free_bytes: number; min_free_bytes: number };
  /** Bytes per part of the data dir (and `images`, on Docker, outside it). */
  used: Record<string, number>;
  used_bytes: number;
  gc: { keep_releases: number; keep_backups: number; interval_ms: number };
}
