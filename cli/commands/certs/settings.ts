import { api } from '../../api.js';
import { resolveApp } from '../../app-option.js';
import type { Certs } from '../../types.js';
import { printCerts } from './index.js';

/** Changes the app's HTTPS settings (PATCH /v1/apps/:app/tls) and prints them as they are now. */
export async function updateTls(appFlag: string | undefined, changes: { auto?: boolean; redirect?: boolean; hsts_max_age?: number }): Promise<void> {
  const app = await resolveApp(appFlag);
  printCerts(app, await api<Certs>('PATCH', `/v1/apps/${encodeURIComponent(app)}/tls`, changes));
}

/** `on` → true, `off` → false; anything else undefined. */
export function onOff(value: string): boolean | undefined {
  return value === 'on' ? true : value === 'off' ? false : undefined;
}
