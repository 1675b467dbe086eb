import http from 'node:http';
import express, { type RequestHandler } from 'express';
import { NotFoundError, PaasError } from '../../lib/errors.js';
import { STREAM_PATH } from '../../router/protocol.js';
import { type Lifecycle, SHUTTING_DOWN } from '../control/lifecycle.js';
import { type Authority, refuseCrossSite, requireCaller } from './auth.js';
import type { ApiDeps } from './deps.js';
import { errorHandler, noSpaceErrors, notFound } from './error-handler.js';
import { type LogTails, TAIL_PATH } from './log-tail.js';
import { EVENTS_PATH, type EventStream } from './events.js';
import type { RouteStream } from './route-stream.js';
import { addonsRoutes } from './routes/addons.js';
import { appsRoutes } from './routes/apps.js';
import { formationRoutes } from './routes/formation.js';
import { releasesRoutes } from './routes/releases.js';
import { serverRoutes } from './routes/server.js';
import { sessionRoutes } from './routes/session.js';
import { RUN_PATH, runUpgrade } from './run-socket.js';
import { refuseUpgrade, upgradeDispatcher } from './upgrades.js';
import { tellNotices } from './notices.js';
import { dashboard } from './dashboard.js';

/**
 * Once draining, answers requests that would start work with 503 and SHUTTING_DOWN. Reads still
 * work, so a CLI waiting on a release it started hears how it ended. `Connection: close` lets
 * kept-alive clients go.
 */
function refuseWhileDraining(lifecycle: Lifecycle): RequestHandler {
  return (req, res, next) => {
    if (!lifecycle.draining || req.method === 'GET' || req.method === 'HEAD') return next();
    res.set('connection', 'close');
    next(new PaasError('unavailable', 503, SHUTTING_DOWN));
  };
}

/**
 * The API's HTTP server, not yet listening: git's smart HTTP (`git`, mounted first, with its own
 * auth), the `/v1` routes (the token or a dashboard session, see auth.ts), and the websocket upgrades (route stream, log tail,
 * app events, `paas run`). Last, the web dashboard's files (dashboard.ts).
 */
export function createApiServer(deps: ApiDeps, opts: { authority: Authority; git: express.Router; routeStream: RouteStream; tails: LogTails; events: EventStream }): http.Server {
  const api = express();
  api.disable('x-powered-by');
  // req.secure (the session cookie's Secure flag) believes X-Forwarded-Proto from a proxy on this machine only.
  api.set('trust proxy', 'loopback');
  // A signed-out session's log tails and event stream end with it, not at their next heartbeat.
  const signedOut = () => {
    opts.events.dropEnded();
    opts.tails.dropEnded();
  };
  api.use(opts.git);
  api.use('/v1', refuseCrossSite(), refuseWhileDraining(deps.lifecycle), sessionRoutes(deps, opts.authority, signedOut), requireCaller(opts.authority), tellNotices(deps), express.json({ limit: '1mb' }), appsRoutes(deps), releasesRoutes(deps), formationRoutes(deps), addonsRoutes(deps), serverRoutes(deps));
  api.use(dashboard(deps.config.dashboardDir));
  api.use(notFound);
  api.use(noSpaceErrors(deps.paths.root));
  api.use(errorHandler);

  const server = http.createServer(api);
  const runSocket = runUpgrade(deps, opts.authority.token);
  server.on(
    'upgrade',
    upgradeDispatcher([
      { path: new RegExp(`^${STREAM_PATH}$`), handle: opts.routeStream.handleUpgrade },
      { path: TAIL_PATH, handle: opts.tails.handleUpgrade },
      { path: EVENTS_PATH, handle: opts.events.handleUpgrade },
      {
        path: RUN_PATH,
        handle: (req, socket, head) => {
          // runSocket declines what is not its own (another method, a name that does not decode).
          if (!runSocket(req, socket, head)) refuseUpgrade(socket, new NotFoundError(`No route for ${req.method} ${req.url ?? ''}. See docs/api.md for the API.`));
        },
      },
    ]),
  );
  return server;
}
