import { excerpt } from './safe-fs.js';

/**
 * Parses a Procfile: `type: command` per line; blank lines and `#` comments are skipped.
 * Returns an error message for the first malformed line instead of guessing.
 */
export function parseProcfile(text: string): { types: Record<string, string> } | { error: string } {
  const types: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line);
    // Only a short excerpt: whatever the file holds never comes back to the pusher in full.
    if (!m) return { error: `Procfile line ${i + 1} is not \`type: command\` (it starts "${excerpt(line)}")` };
    types[m[1]] = m[2]!;
  }
  return { types };
}
