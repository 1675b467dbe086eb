// The API's shapes live in lib/, shared with the dashboard; the CLI's commands import them from here.
export type * from '../lib/api-types.js';
