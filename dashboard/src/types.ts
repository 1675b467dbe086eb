// The API's JSON shapes (docs/api.md), shared with the CLI: the dashboard knows the server only
// through /v1, as the CLI does.
export type { Addon, App, AppEvent, Backup, Build, Domain, Dyno, FormationEntry, LogLine, Release, Session } from '../../lib/api-types.js';

/** `GET /v1/apps/:name/config`: every var, the attached add-ons' too. */
export type ConfigVars = Record<string, string>;
