// `npm start` without npm. npm (11, @npmcli/run-script) runs a package's start script through a
// shell in the package's directory, with node_modules/.bin first on PATH and a few npm_* variables,
// and stays resident as the script's parent with that shell (~65 MB of RSS per dyno), in the way of
// the app's signals. The Node buildpack runs the script itself instead: the package's npm_package_*
// variables go into the slug's environment, the lifecycle ones into the web command, and bash (which
// runs every process command) execs the script's last command, so the app is what runs.

/** A variable name a shell exports: npm also passes others (`config: { "a-b": 1 }`), which its sh drops. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** How deep package.json objects are followed, and how much of the environment npm_package_* may take. */
const MAX_DEPTH = 8;
const MAX_BYTES = 64 * 1024;

/** The package.json fields npm exports to every script as npm_package_* (npm RFC 183). */
const EXPORTED = ['name', 'version', 'config', 'engines', 'bin'];

export interface PackageEnv {
  env: Record<string, string>;
  /** Variables npm's script would see that the app does not get: a NUL, nested too deep, or too big. */
  skipped: string[];
}

/**
 * The npm_package_* variables npm gives a script of this package, flattened as npm does
 * (`config: { port: 8080 }` → npm_package_config_port=8080, arrays by index, null and false → "").
 */
export function packageEnv(pkg: Record<string, unknown>): PackageEnv {
  const env: Record<string, string> = {};
  const skipped: string[] = [];
  let bytes = 0;
  const add = (key: string, val: unknown, depth: number): void => {
    if (val === undefined) return;
    if (Array.isArray(val) || (typeof val === 'object' && val !== null)) {
      if (depth >= MAX_DEPTH) return void skipped.push(`${key}_*`);
      const entries: [string, unknown][] = Array.isArray(val) ? val.map((v, i) => [String(i), v]) : Object.entries(val);
      for (const [k, v] of entries) add(`${key}_${k}`, v, depth + 1);
      return;
    }
    const text = val === null || val === false ? '' : String(val);
    const size = key.length + text.length + 2;
    if (!NAME.test(key)) return;
    if (text.includes('\0') || bytes + size > MAX_BYTES) return void skipped.push(key);
    bytes += size;
    env[key] = text;
  };
  for (const field of EXPORTED) add(`npm_package_${field}`, pkg[field], 0);
  return { env, skipped };
}

/** `text` as one bash word, single-quoted. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The web command that runs a start script as `npm start` would: in bash, under the lifecycle
 * variables npm sets for it. bash (5.1 and later) execs the script's last command, so a script such
 * as `node server.js` or `tsc && node dist/server.js` leaves only node running.
 */
export function startCommand(script: string): string {
  return `export npm_lifecycle_event=start npm_lifecycle_script=${shellQuote(script)}; ${script}`;
}
