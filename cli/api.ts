import os from 'node:os';
import { apiUrl, requireToken } from './auth.js';
import { CliError } from './errors.js';

/** Who is acting, recorded on the releases this CLI makes. */
function actor(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'cli';
  }
}

/** Streams a plain-text API response line by line (release output); ends when the server ends it. */
export async function apiLines(path: string, onLine: (line: string) => void): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${apiUrl()}${path}`, { headers: { authorization: `Bearer ${requireToken()}` } });
  } catch {
    return; // the release's status, read next, says how it went
  }
  if (!res.ok || !res.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (buffered) onLine(buffered);
}

/** Prints what the server says happened to the app since it was last asked (a release put back), on stderr. */
function showNotices(res: Response): Response {
  const notices = res.headers.get('paas-notice');
  if (notices) for (const line of decodeURIComponent(notices).split('\n')) process.stderr.write(` !    ${line}\n`);
  return res;
}

/** Sends one API request; a server that cannot be reached is a CliError that says what to check. */
async function send(method: string, path: string, init: { body?: unknown; token?: string; accept: string }): Promise<Response> {
  const bearer = init.token ?? requireToken();
  try {
    return showNotices(await fetch(`${apiUrl()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        accept: init.accept,
        'x-paas-actor': actor(),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }));
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`Could not reach the paas server at ${apiUrl()} (${cause}). Is \`paas server\` running? Set PAAS_API_URL if it runs elsewhere.`);
  }
}

/** The JSON of an answer; an API error becomes a CliError with the server's message. */
async function parse<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`The server at ${apiUrl()} answered HTTP ${res.status} with something that is not paas JSON. Check PAAS_API_URL.`);
  }
  if (!res.ok) {
    const e = json as { id?: string; message?: string };
    throw new CliError(e.message ?? `HTTP ${res.status}`, e.id);
  }
  return json as T;
}

/** As `api`, with the answer's headers (an add-on attach names its release in `paas-release-version`). */
export async function apiWithHeaders<T>(method: string, path: string, body?: unknown): Promise<{ body: T; headers: Headers }> {
  const res = await send(method, path, { body, accept: 'application/json' });
  return { body: await parse<T>(res), headers: res.headers };
}

/** Calls the paas API and returns the parsed JSON; API errors become CliErrors with the server's message. */
export async function api<T>(method: string, path: string, body?: unknown, tokenOverride?: string): Promise<T> {
  return parse<T>(await send(method, path, { body, token: tokenOverride, accept: 'application/json' }));
}

/** GETs a plain-text API resource (a kept output) whole; API errors become CliErrors as in `api`. */
export async function apiText(path: string): Promise<string> {
  const res = await send('GET', path, { accept: 'text/plain' });
  if (!res.ok) await parse(res);
  return res.text();
}
