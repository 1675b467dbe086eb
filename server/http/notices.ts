import type express from 'express';
import type { ApiDeps } from './deps.js';

const APP_PATH = /^\/apps\/([a-z][a-z0-9-]{1,29})(\/|$)/;

/** The header that carries an app's notices (control/notices.ts) to the CLI, URI-encoded, one per line. */
export const NOTICE_HEADER = 'paas-notice';

/**
 * Hands an authenticated request about an app its notices not yet shown, in NOTICE_HEADER: the
 * CLI prints them on stderr, whatever the command, so a revert after a push is not missed.
 */
export function tellNotices(deps: Pick<ApiDeps, 'notices'>): express.RequestHandler {
  return (req, res, next) => {
    const app = APP_PATH.exec(req.path)?.[1];
    const notices = app ? deps.notices.take(app) : [];
    if (notices.length) res.setHeader(NOTICE_HEADER, encodeURIComponent(notices.join('\n')));
    next();
  };
}
