/** One line of an app's log stream, Heroku style: `2026-11-22T05:45:25.123456Z app[web.1]: hello`. */
export interface LogLine {
  /** RFC 3339, UTC, microseconds. */
  time: string;
  /** `app[web.1]`, `paas[web.1]`, `paas[build]`, `router`, … */
  source: string;
  line: string;
}

/** A line with the app it belongs to, as consumers (tails, drains) get it. */
export interface LogEvent extends LogLine {
  app: string;
}
