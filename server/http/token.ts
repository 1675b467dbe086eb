import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

/**
 * The API token: PAAS_API_TOKEN if set, else the one kept in the data dir, else a new one that is
 * saved (mode 0600) and announced once.
 */
export function resolveApiToken(configured: string | undefined, file: string, announce: (token: string) => void): string {
  if (configured) return configured;
  try {
    const saved = fs.readFileSync(file, 'utf8').trim();
    if (saved) return saved;
  } catch {
    // No token yet: make one below.
  }
  const token = randomBytes(24).toString('hex');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  announce(token);
  return token;
}
