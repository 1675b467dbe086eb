import fs from 'node:fs';
import { apiUrl } from './auth.js';

export const REMOTE = 'paas';

/** simple-git costs a quarter second to load; only commands that touch git pay for it. */
async function simpleGit(unsafe: { allowUnsafeCredentialHelper?: boolean } = {}) {
  const { simpleGit: create } = await import('simple-git');
  return create({ unsafe });
}

async function inCheckout(): Promise<boolean> {
  try {
    return await (await simpleGit()).checkIsRepo();
  } catch {
    return false; // git missing or cwd unreadable: behave as outside a checkout
  }
}

/** The push URL of the checkout's `paas` remote; undefined outside a checkout or without one. */
export async function remoteUrl(): Promise<string | undefined> {
  if (!(await inCheckout())) return undefined;
  const remotes = await (await simpleGit()).getRemotes(true);
  return remotes.find((r) => r.name === REMOTE)?.refs.push;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

// git's `!` form hands the rest to sh with the action appended (`… git:credentials get`). The paths
// are our own: the node running us (not whatever `node` PATH finds at push time) and the launcher we
// were started from. The API URL is baked in, so a push finds the same server without the
// PAAS_API_URL this ran with. Each is single-quoted for sh.
function credentialHelper(api: string): string {
  return `!${shellQuote(process.execPath)} ${shellQuote(fs.realpathSync(process.argv[1]))} git:credentials --api-url ${shellQuote(api)}`;
}

/**
 * Points the checkout's `paas` remote at `url`, and has git ask `paas git:credentials` for the
 * token when it talks to the API host, so `git push paas main` needs no ~/.netrc. Returns false
 * outside a checkout.
 */
export async function setRemote(url: string): Promise<boolean> {
  if (!(await inCheckout())) return false;
  const git = await simpleGit();
  const exists = (await git.getRemotes()).some((r) => r.name === REMOTE);
  if (exists) await git.remote(['set-url', REMOTE, url]);
  else await git.addRemote(REMOTE, url);
  // In this repo's own config only. The empty helper first clears any the user set for every host
  // (a keychain, `store`), so none answers for paas, nor keeps a copy of its token when git passes
  // on the credentials that worked. Unset first, so running this again does not stack helpers.
  const key = `credential.${apiUrl()}.helper`;
  const config = await simpleGit({ allowUnsafeCredentialHelper: true }); // our own helper, see above
  await config.raw(['config', '--local', '--unset-all', key]).catch(() => undefined); // none set yet
  await config.raw(['config', '--local', '--add', key, '']);
  await config.raw(['config', '--local', '--add', key, credentialHelper(apiUrl())]);
  return true;
}

/** Removes the `paas` remote if it points at `app`. */
export async function removeRemoteFor(app: string): Promise<void> {
  const url = await remoteUrl();
  if (url && url.replace(/\/$/, '').endsWith(`/${app}.git`)) await (await simpleGit()).removeRemote(REMOTE);
}
