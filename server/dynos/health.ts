import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHECK_DEFAULTS, type HealthCheck } from '../../builder/index.js';

/** The most of a check's response body that is read (to look for its `content`). */
const BODY_MAX = 64 * 1024;

/** One GET to the dyno: the failure in words, or undefined when it answered 2xx with the content. */
function probe(host: string, port: number, check: HealthCheck): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: check.path, agent: false, headers: { 'user-agent': 'paas-healthcheck' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < BODY_MAX) body += d;
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) return resolve(`answered ${status}`);
        if (check.content !== undefined && !body.includes(check.content)) return resolve(`answered ${status} without ${JSON.stringify(check.content)} in its body`);
        resolve(undefined);
      });
      res.on('error', () => resolve('cut its answer short'));
    });
    req.setTimeout(check.timeout * 1000, () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(err.message === 'timeout' ? `did not answer within ${check.timeout} s` : `could not be reached (${err.message})`));
  });
}

/**
 * The startup checks a new web dyno must pass before it gets traffic: app.json's `healthchecks.web`,
 * else one built from the PAAS_HEALTHCHECK_PATH config var, else none (listening is enough).
 */
export function startupChecks(fromAppJson: HealthCheck[] | undefined, configPath: string | undefined): HealthCheck[] {
  if (fromAppJson?.length) return fromAppJson;
  if (configPath?.startsWith('/')) return [{ type: 'startup', path: configPath, ...CHECK_DEFAULTS }];
  return [];
}

/**
 * Runs each check until it passes or has used its attempts, `wait` seconds apart. Resolves with
 * why the dyno is unhealthy, or undefined when all passed. Gives up when `gone` settles (the dyno
 * exited) or at `deadline` (the boot timeout, shared with waiting for the port).
 */
export async function runChecks(
  host: string,
  port: number,
  checks: HealthCheck[],
  opts: { gone: Promise<unknown>; deadline: number; log: (line: string) => void },
): Promise<string | undefined> {
  const { gone, deadline, log } = opts;
  let exited = false;
  void gone.then(() => (exited = true));
  for (const check of checks) {
    let why: string | undefined;
    for (let attempt = 1; attempt <= check.attempts; attempt++) {
      if (exited) return 'exited during its health check';
      // The boot timeout bounds listening and checking together.
      if (Date.now() > deadline) return `did not pass its health check GET ${check.path} within the boot timeout${why ? ` (it ${why})` : ''}`;
      why = await probe(host, port, check);
      if (!why) break;
      log(`       Health check GET ${check.path} ${why} (attempt ${attempt} of ${check.attempts})`);
      if (attempt < check.attempts) await sleep(check.wait * 1000);
    }
    if (why) return `failed its health check: GET ${check.path} ${why}, ${check.attempts} time${check.attempts === 1 ? '' : 's'}`;
  }
  return undefined;
}
