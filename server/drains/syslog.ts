import type { LogEvent } from '../logs/pipeline.js';

/** local7.info, as Heroku's drains send every line. */
const PRI = 190;

/**
 * RFC 5424 fields of a line's source: `app[web.1]` is APP-NAME `app`, PROCID `web.1`; `router` is
 * both. RFC 5424 allows 48 printable characters for APP-NAME and 128 for PROCID.
 */
function fields(source: string): { appName: string; procId: string } {
  const m = /^([^[\]]+)\[([^\]]+)\]$/.exec(source);
  const clean = (s: string, max: number): string => s.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
  return m ? { appName: clean(m[1], 48), procId: clean(m[2], 128) } : { appName: clean(source, 48), procId: clean(source, 128) };
}

/**
 * One event as an RFC 5424 message in RFC 6587 octet-counting framing (`<len> <msg>`), as Heroku's
 * syslog and logplex drains send it: `<190>1 TIME APP-HOST app web.1 - - line`. The count is in
 * bytes, so receivers can split a stream or a POST body without looking for newlines.
 */
export function frame(event: LogEvent): string {
  const { appName, procId } = fields(event.source);
  const host = event.app.slice(0, 255) || '-';
  const msg = `<${PRI}>1 ${event.time} ${host} ${appName} ${procId} - - ${event.line}`;
  return `${Buffer.byteLength(msg)} ${msg}`;
}

/** Many events framed back to back: a syslog write or a logplex body. */
export function frameAll(events: readonly LogEvent[]): string {
  let out = '';
  for (const e of events) out += frame(e);
  return out;
}
