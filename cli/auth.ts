import { CliError } from './errors.js';
import { localServerToken, localServerUrl } from './local-server.js';
import { readNetrcPassword } from './netrc.js';

/** The paas API: PAAS_API_URL, else the URL this user's own server recorded (any PORT), else the default port. */
export function apiUrl(): string {
  const url = (process.env.PAAS_API_URL || localServerUrl() || 'http://localhost:5100').replace(/\/+$/, '');
  if (!URL.canParse(url)) throw new CliError(`PAAS_API_URL=${JSON.stringify(url)} is not a URL (for example http://localhost:5100).`);
  return url;
}

/** The API's host name, which names its entry in ~/.netrc. */
export function apiHost(): string {
  return new URL(apiUrl()).hostname;
}

/** The API token: PAAS_API_TOKEN, else ~/.netrc's entry for the API host, else the local server's token file. */
export function findToken(): string | undefined {
  return process.env.PAAS_API_TOKEN || readNetrcPassword(apiHost()) || localServerToken(new URL(apiUrl()));
}

/** Like findToken, but says how to log in when there is no token. */
export function requireToken(): string {
  const token = findToken();
  if (token) return token;
  throw new CliError(
    `Not logged in to ${apiUrl()}. Run \`paas login\`, or set PAAS_API_TOKEN. ` +
      '(The user who runs `paas server` on this machine needs no login: paas reads the token from the server\'s data dir. ' +
      'A server run with another PORT or PAAS_DATA_DIR: set PAAS_API_URL=http://localhost:<PORT>, or PAAS_DATA_DIR as the server has it.)',
  );
}
