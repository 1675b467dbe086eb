// When a PostgreSQL server is ready, told without connecting to it: pg_ctl's own test (since
// PostgreSQL 10). A probe connection (pg_isready) while the server starts is logged by it as
// `FATAL: the database system is starting up`, and one as a role the peer cannot be (root, or
// `postgres` from paas's uid) as `FATAL: … authentication failed`: a log line at every start that
// looks like a fault and is none.

/** postmaster.pid's 8th line: the postmaster's status, `ready` once it accepts connections. */
const STATUS_LINE = 7;

/** Whether the text of a data dir's `postmaster.pid` says the server accepts connections. */
export function postmasterReady(pidFile: string): boolean {
  return pidFile.split('\n')[STATUS_LINE]?.trim() === 'ready';
}
