import { api, apiLines } from './api.js';
import { CliError } from './errors.js';
import { out } from './output.js';
import type { Release } from './types.js';

const POLL_MS = 200;
const MAX_WAIT_MS = 30 * 60_000;

/**
 * Follows a release the CLI just caused until it is live or failed: its output (release command,
 * dyno boot) streams to stderr, then the version goes to stdout. A failed release is a CliError.
 */
export async function waitForRelease(app: string, release: Release): Promise<Release> {
  let lastError = '';
  await apiLines(new URL(release.output_stream_url).pathname, (line) => {
    if (line.startsWith(' !')) lastError = line.replace(/^ !\s*/, '');
    process.stderr.write(`${line}\n`);
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
  out(`v${now.version}`);
  return now;
}
