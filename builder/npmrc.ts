// The npmrc format as npm reads it (its `ini` parser, then `${VAR}` expansion), and as paas writes it
// back for builds. Small on purpose: npm's own parser is not a dependency of paas.

/** One `key=value` of an npmrc, in file order; `key[]=value` lines give one entry each. */
export interface NpmrcEntry {
  key: string;
  value: string;
  /** Whether it was written `key[]=` (an array setting, such as `ca[]`). */
  array: boolean;
}

/** A problem in an npmrc, said with the line it is on; the caller names the file. */
export class NpmrcError extends Error {}

/** An ini value as npm's `ini` reads it: a quoted string is JSON (single quotes allowed), else `;` or `#` ends it and `\` escapes them. */
function iniValue(raw: string): string {
  const text = raw.trim();
  const quote = text[0];
  if ((quote === '"' || quote === "'") && text.length > 1 && text.endsWith(quote)) {
    const inner = quote === "'" ? text.slice(1, -1) : text;
    try {
      const parsed: unknown = JSON.parse(quote === "'" ? JSON.stringify(inner) : inner);
      return String(parsed);
    } catch {
      return text;
    }
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      const next = text[++i];
      out += '\\;#'.includes(next) ? next : `\\${next}`;
    } else if (c === ';' || c === '#') {
      break;
    } else {
      out += c;
    }
  }
  return out.trim();
}

/**
 * Replaces `${NAME}` with NAME from `env`, as npm does in every key and value; `${NAME?}` is empty when
 * unset, and `\${NAME}` stays as written. An unset `${NAME}` is an error, as it is to npm.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv, line: number): string {
  return text.replace(/(?<!\\)(\\*)\$\{([^${}?]+)(\?)?\}/g, (whole, slashes: string, name: string, optional: string | undefined) => {
    // As npm: backslashes before `$` pair up; an odd one left over escapes it, keeping `${NAME}` as written.
    if (slashes.length % 2 === 1) return whole.slice((slashes.length + 1) / 2);
    const value = env[name];
    if (value === undefined && !optional) throw new NpmrcError(`line ${line} uses \${${name}}, which is not set in the server's environment`);
    return slashes.slice(slashes.length / 2) + (value ?? '');
  });
}

/** Parses npmrc text: comments (`;`, `#`) and blank lines skipped, `${VAR}` expanded from `env`. Sections are refused: npm ignores what is in them. */
export function parseNpmrc(text: string, env: NodeJS.ProcessEnv): NpmrcEntry[] {
  const entries: NpmrcEntry[] = [];
  text.split(/\r?\n|\r/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) return;
    if (/^\[.*\]$/.test(line)) throw new NpmrcError(`line ${i + 1} opens a section (${line.slice(0, 40)}), which npm ignores: put its settings at the top level`);
    const eq = line.indexOf('=');
    let key = iniValue(eq < 0 ? line : line.slice(0, eq));
    // A key alone means `true`, as in `always-auth`.
    const value = eq < 0 ? 'true' : iniValue(line.slice(eq + 1));
    const array = key.endsWith('[]');
    if (array) key = key.slice(0, -2);
    if (!key) throw new NpmrcError(`line ${i + 1} has no setting name before "="`);
    entries.push({ key: expandEnv(key, env, i + 1), value: expandEnv(value, env, i + 1), array });
  });
  return entries;
}

/** One value as npm's `ini` reads it back: bare when that is unambiguous, else a JSON string. */
function iniQuote(value: string): string {
  return /^[^\s"';#\\[\]=]+$/.test(value) ? value : JSON.stringify(value);
}

/** Writes entries back as npmrc text that npm, pnpm and yarn 1 read as the same keys and values. */
export function formatNpmrc(entries: NpmrcEntry[]): string {
  return entries.map((e) => `${iniQuote(e.key)}${e.array ? '[]' : ''}=${iniQuote(e.value)}\n`).join('');
}

/**
 * npm's "nerf dart" of a registry URL: `//host[:port]/path/`, the prefix of the keys that hold its
 * credentials (`//host/path/:_authToken`). Undefined for what is not an http(s) URL.
 */
export function nerfDart(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
  const dir = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`;
  return `//${u.host}${dir}`;
}
