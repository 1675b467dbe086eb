import WebSocket from 'ws';
import type { Paas } from './paas.js';

/** A dashboard session as a browser holds it: the cookie to send back, its CSRF value, and the Set-Cookie it came with. */
export interface BrowserSession {
  cookie: string;
  csrf: string;
  setCookie: string;
}

/** Signs in like the dashboard (POST /v1/session with the token); throws unless it answers 201 with a cookie. */
export async function signIn(paas: Paas, token = paas.token): Promise<BrowserSession> {
  const res = await fetch(`${paas.apiUrl}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const body = (await res.json()) as { csrf?: string };
  if (res.status !== 201 || !setCookie || !body.csrf) throw new Error(`sign-in answered ${res.status}: ${JSON.stringify(body)}`);
  return { cookie: setCookie.split(';')[0], csrf: body.csrf, setCookie };
}

/** The API's own origin, as a page it serves sends it. */
export const ownOrigin = (paas: Paas): string => new URL(paas.apiUrl).origin;

/** A websocket to the API with these headers; resolves once open, with every message it got (parsed JSON) kept in `got`. */
export function openSocket<T>(paas: Paas, urlPath: string, headers: Record<string, string>): Promise<{ ws: WebSocket; got: T[] }> {
  const ws = new WebSocket(`${paas.apiUrl.replace(/^http/, 'ws')}${urlPath}`, { headers });
  const got: T[] = [];
  ws.on('message', (data) => got.push(JSON.parse(data.toString()) as T));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, got }));
    ws.once('error', reject);
  });
}
