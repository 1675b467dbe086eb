import { CliError } from './errors.js';

export const REMOTE = 'paas';

/** simple-git costs a quarter second to load; only commands that touch git pay for it. */
async function simpleGit() {
  const { simpleGit: create } = await import('simple-git');
  return create();
}

async function inCheckout(): Promise<boolean> {
  try {
    return await (await simpleGit()).checkIsRepo();
  } catch {
    return false; // git missing or cwd unreadable: behave as outside a checkout
  }
}

async function remoteUrl(): Promise<string | undefined> {
  if (!(await inCheckout())) return undefined;
  const remotes = await (await simpleGit()).getRemotes(true);
  return remotes.find((r) => r.name === REMOTE)?.refs.push;
}

/** The app named by `-a`, else by the `paas` git remote of the checkout we run in. */
export async function resolveApp(flag: string | undefined): Promise<string> {
  if (flag) return flag;
  const url = await remoteUrl();
  const m = url ? /\/([a-z][a-z0-9-]*)\.git\/?$/.exec(url) : null;
  if (m) return m[1];
  throw new CliError('No app specified. Pass -a APP, or run this inside a git checkout with a `paas` remote (see `paas apps:create`).');
}

/** Points the checkout's `paas` remote at `url`; returns false outside a checkout. */
export async function setRemote(url: string): Promise<boolean> {
  if (!(await inCheckout())) return false;
  const git = await simpleGit();
  const exists = (await git.getRemotes()).some((r) => r.name === REMOTE);
  if (exists) await git.remote(['set-url', REMOTE, url]);
  else await git.addRemote(REMOTE, url);
  return true;
}

/** Removes the `paas` remote if it points at `app`. */
export async function removeRemoteFor(app: string): Promise<void> {
  const url = await remoteUrl();
  if (url && url.replace(/\/$/, '').endsWith(`/${app}.git`)) await (await simpleGit()).removeRemote(REMOTE);
}
