import { Option } from 'commander';
import { CliError } from './errors.js';
import { remoteUrl } from './git.js';

/**
 * The `-a, --app <name>` option every app command takes, for `.addOption()`. `help` replaces the
 * usual help text where the command says more (`app to destroy`).
 */
export function appOption(help = 'app (default: from the `paas` git remote)'): Option {
  return new Option('-a, --app <name>', help);
}

/** The app named by `-a`, else by the `paas` git remote of the checkout we run in. */
export async function resolveApp(flag: string | undefined): Promise<string> {
  if (flag) return flag;
  const url = await remoteUrl();
  const m = url ? /\/([a-z][a-z0-9-]*)\.git\/?$/.exec(url) : null;
  if (m) return m[1];
  throw new CliError('No app specified. Pass -a APP, or run this inside a git checkout with a `paas` remote (see `paas apps:create`).');
}
