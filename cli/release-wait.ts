import { api, apiLines } from './api.js';
import { CliError } from './errors.js';
import { out, progress } from './output.js';
import type { Release } from './types.js';

const POLL_MS = 200;
const MAX_WAIT_MS = 30 * 60_000;

/**
 * Follows a release the CLI just caused until it is live or failed: its output (release command,
 * dyno boot) streams to stderr, then the version goes to stdout. A failed release is a CliError.
 */
export async function waitForRelease(app: string, release: Release, opts: { quiet?: boolean } = {}): Promise<Release> {
  let lastError = '';
  await apiLines(new URL(release.output_stream_url).pathname, (line) => {
    if (line.startsWith(' !')) lastError = line.replace(/^ !\s*/, '');
    if (opts.quiet) progress(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  });
  const path = `/v1/apps/${encodeURIComponent(app)}/releases/${release.version}`;
  const deadline = Date.now() + MAX_WAIT_MS;
  let now = await api<Release>('GET', path);
  while (now.status === 'pending' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    now = await api<Release>('GET', path);
  }
  if (now.status === 'failed') throw new CliError(`Release v${now.version} failed${lastError ? `: ${lastError}` : ''}. v${now.version} is not live; the previous release keeps running.`);
  if (now.status === 'pending') throw new CliError(`Release v${now.version} is still pending after ${MAX_WAIT_MS / 60_000} minutes. Check \`paas releases -a ${app}\`.`);
  if (!opts.quiet) out(`v${now.version}`);
  return now;
}

/**
 * Follows the release an add-on attach or detach made (named by the answer's `paas-release-version`
 * header) until it is live, its output on stderr on a TTY only, nothing on stdout.
 */
export async function waitForAttachment(app: string, headers: Headers): Promise<Release | undefined> {
  const version = headers.get('paas-release-version');
  if (!version) return undefined;
  const release = await api<Release>('GET', `/v1/apps/${encodeURIComponent(app)}/releases/${version}`);
  return waitForRelease(app, release, { quiet: true });
}
