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

/** Calls the paas API and returns the parsed JSON; API errors become CliErrors with the server's message. */
export async function api<T>(method: string, path: string, body?: unknown, tokenOverride?: string): Promise<T> {
  const bearer = tokenOverride ?? requireToken();
  let res: Response;
  try {
    res = await fetch(`${apiUrl()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        'x-paas-actor': actor(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`Could not reach the paas server at ${apiUrl()} (${cause}). Is \`paas server\` running? Set PAAS_API_URL if it runs elsewhere.`);
  }
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
