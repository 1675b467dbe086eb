// The operator's package settings (a registry, scoped registries and their credentials, a CA, a
// proxy), turned into what build steps read: one npmrc for npm, pnpm and yarn 1, a .yarnrc.yml for
// yarn berry (which reads no npmrc), and env for corepack and the rest. Both executors (the
// process runtime's sandbox, the Docker image build) use this one translation.
import { type NpmrcEntry, formatNpmrc, nerfDart } from './npmrc.js';

/** The operator's package settings as builds get them (PAAS_BUILD_NPMRC, read once at start-up). */
export interface RegistrySettings {
  /** npmrc entries in the order npm applies them (a later one wins), only those about registries, credentials, TLS and proxies; no cafile or ca (their certificates are `npmCa`). */
  npmrc: NpmrcEntry[];
  /** The certificates (PEM) the npmrc's cafile or ca named: with them, npm trusts only these (and extraCa). */
  npmCa?: string;
  /** Certificates (PEM) builds trust besides the system's roots (PAAS_BUILD_CA_FILE). */
  extraCa?: string;
  /** The npmrc files they were read from, in order (what no dyno may read). */
  sources: string[];
  /** Settings PAAS_BUILD_NPMRC holds that builds do not get (not about registries), by name; the host npm's own other settings are not listed. */
  ignored: string[];
}

/** What a build step is given: files to show it (all in one directory), berry's rc, and env. */
export interface RegistryMounts {
  /** File name → content, shown read-only in the directory registryMounts was given. */
  files: Record<string, string>;
  /** yarn berry's settings as a `.yarnrc.yml` for the root of the step's filesystem: berry reads the rc of every directory above the app, the app's own first, so the app's own settings still win. */
  yarnrc?: string;
  /** Every build step's env: where the npmrc and CA are, the proxy, corepack's registry and credentials. */
  env: Record<string, string>;
  /** berry's settings as YARN_* env, for a step with no root of its own to put `yarnrc` at; env would win over the app's .yarnrc.yml, and no scoped registry can be said this way. */
  yarnEnv: Record<string, string>;
}

/** One certificate of a PEM bundle. */
export const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export const NPMRC_FILE = 'npmrc';
export const CA_FILE = 'ca.pem';

/** Settings a build gets: registries, credentials, TLS, proxies and network tuning. */
const PASSED = new Set(['registry', 'strict-ssl', 'proxy', 'https-proxy', 'noproxy', 'always-auth', 'fetch-retries', 'fetch-retry-factor', 'fetch-retry-mintimeout', 'fetch-retry-maxtimeout', 'fetch-timeout', 'maxsockets', 'replace-registry-host']);
/** Per-registry (`//host/path/:name`) settings a build gets. */
const PASSED_PER_REGISTRY = new Set(['_authToken', '_auth', 'username', '_password', 'email', 'always-auth']);

/** Whether builds get an npmrc setting (cafile and ca are read apart, as certificates). */
export function passesToBuilds(key: string): boolean {
  if (PASSED.has(key) || /^@[^:/]+:registry$/.test(key)) return true;
  const perRegistry = /^\/\/[^:]+(?::\d+)?\/.*:([^:/]+)$/.exec(key);
  return perRegistry !== null && PASSED_PER_REGISTRY.has(perRegistry[1]);
}

/** The last value of each setting (npm's rule for a key given twice). */
function lastValues(entries: NpmrcEntry[]): Map<string, string> {
  return new Map(entries.map((e) => [e.key, e.value]));
}

/** The credentials npm would send to `url`: the settings of the longest `//host/path/` prefix that has any. */
function credentialsFor(values: Map<string, string>, url: string): { token?: string; user?: string; password?: string } | undefined {
  for (let dart = nerfDart(url); dart && dart.length > 2; dart = dart.replace(/[^/]*\/$/, '')) {
    const token = values.get(`${dart}:_authToken`);
    if (token) return { token };
    const auth = values.get(`${dart}:_auth`);
    if (auth) {
      const plain = Buffer.from(auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon > 0) return { user: plain.slice(0, colon), password: plain.slice(colon + 1) };
    }
    const user = values.get(`${dart}:username`);
    const password = values.get(`${dart}:_password`);
    if (user && password) return { user, password: Buffer.from(password, 'base64').toString('utf8') };
    if (dart.split('/').length <= 4) break; // `//host/`: nothing above it
  }
  return undefined;
}

const noTrailingSlash = (url: string) => url.replace(/\/+$/, '');

/** The berry settings, as the object a .yarnrc.yml holds. */
function berrySettings(values: Map<string, string>): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  const registry = values.get('registry');
  if (registry) settings.npmRegistryServer = noTrailingSlash(registry);
  const scopes: Record<string, { npmRegistryServer: string }> = {};
  const registries: Record<string, Record<string, string | boolean>> = {};
  const plainHttp = new Set<string>();
  for (const [key, value] of values) {
    const scope = /^@([^:/]+):registry$/.exec(key);
    if (scope) scopes[scope[1]] = { npmRegistryServer: noTrailingSlash(value) };
    if (/^(registry|@[^:/]+:registry)$/.test(key) && value.startsWith('http:')) plainHttp.add(new URL(value).hostname);
    const perRegistry = /^(\/\/.+\/):([^:/]+)$/.exec(key);
    if (!perRegistry) continue;
    const entry = (registries[noTrailingSlash(perRegistry[1])] ??= {});
    if (perRegistry[2] === '_authToken') entry.npmAuthToken = value;
    else if (perRegistry[2] === '_auth') entry.npmAuthIdent = value;
    else if (perRegistry[2] === 'always-auth') entry.npmAlwaysAuth = value === 'true';
  }
  // berry takes `user:password` as an ident as well; npm keeps the password base64-encoded.
  for (const [dart, entry] of Object.entries(registries)) {
    const creds = !entry.npmAuthToken && !entry.npmAuthIdent ? credentialsFor(values, `https:${dart}/`) : undefined;
    if (creds?.user) entry.npmAuthIdent = `${creds.user}:${creds.password}`;
    // npm sends a registry's credentials with every request to it; berry, for unscoped packages, only with npmAlwaysAuth.
    if (entry.npmAuthToken || entry.npmAuthIdent) entry.npmAlwaysAuth ??= true;
    if (Object.keys(entry).length === 0) delete registries[dart];
  }
  if (Object.keys(scopes).length) settings.npmScopes = scopes;
  if (Object.keys(registries).length) settings.npmRegistries = registries;
  const httpsProxy = values.get('https-proxy') || values.get('proxy');
  if (httpsProxy) settings.httpsProxy = httpsProxy;
  if (values.get('proxy')) settings.httpProxy = values.get('proxy');
  if (values.get('strict-ssl') === 'false') settings.enableStrictSsl = false;
  if (values.get('always-auth') === 'true') settings.npmAlwaysAuth = true;
  if (plainHttp.size) settings.unsafeHttpWhitelist = [...plainHttp];
  return settings;
}

/** berry's top-level settings as YARN_* variables (maps such as npmScopes have no env form). */
function berryEnv(settings: Record<string, unknown>, values: Map<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  const name = (key: string) => `YARN_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value === 'string' || typeof value === 'boolean') env[name(key)] = String(value);
    else if (Array.isArray(value)) env[name(key)] = value.join(',');
  }
  const registry = values.get('registry');
  const creds = registry ? credentialsFor(values, registry) : undefined;
  if (creds?.token) env.YARN_NPM_AUTH_TOKEN = creds.token;
  else if (creds?.user) env.YARN_NPM_AUTH_IDENT = `${creds.user}:${creds.password}`;
  if (creds) env.YARN_NPM_ALWAYS_AUTH = 'true'; // as npm sends them, with every request
  return env;
}

/**
 * What every build step gets from the settings, its files shown in `dir` (the path at which the
 * step sees them): the npmrc names the CA file there, and env names both.
 */
export function registryMounts(settings: RegistrySettings, dir: string): RegistryMounts {
  const values = lastValues(settings.npmrc);
  // Each certificate once: the host's bundle is often both the npmrc's cafile and the extra CA.
  const certs = new Set([settings.npmCa, settings.extraCa].flatMap((pem) => pem?.match(PEM_CERTIFICATE) ?? []));
  const ca = [...certs].join('\n');
  const caPath = `${dir}/${CA_FILE}`;
  const npmrcPath = `${dir}/${NPMRC_FILE}`;
  // npm's cafile replaces its roots: it holds what the npmrc's cafile named, and the extra CA too.
  const npmrc = formatNpmrc([...settings.npmrc, ...(settings.npmCa ? [{ key: 'cafile', value: caPath, array: false }] : [])]);
  // The user's npmrc, which the app's own .npmrc (its project config) overrides, as on a workstation.
  // npm, pnpm and yarn 1 all read it; npm refuses one file named as both user and global config.
  const env: Record<string, string> = { npm_config_userconfig: npmrcPath };
  // Node's own TLS (corepack, yarn berry, node-gyp) adds these to its roots.
  if (ca) env.NODE_EXTRA_CA_CERTS = caPath;
  const httpsProxy = values.get('https-proxy') || values.get('proxy');
  const proxies = { HTTPS_PROXY: httpsProxy, HTTP_PROXY: values.get('proxy'), NO_PROXY: values.get('noproxy') };
  for (const [name, value] of Object.entries(proxies)) {
    if (value) env[name] = env[name.toLowerCase()] = value;
  }
  // corepack downloads yarn and pnpm from the default registry, with its credentials.
  const registry = values.get('registry');
  if (registry) {
    env.COREPACK_NPM_REGISTRY = noTrailingSlash(registry);
    const creds = credentialsFor(values, registry);
    if (creds?.token) env.COREPACK_NPM_TOKEN = creds.token;
    else if (creds?.user) Object.assign(env, { COREPACK_NPM_USERNAME: creds.user, COREPACK_NPM_PASSWORD: creds.password });
  }
  const berry = berrySettings(values);
  const yarnrc = Object.keys(berry).length ? `# The paas operator's registry settings (PAAS_BUILD_NPMRC); the app's own .yarnrc.yml wins.\n${JSON.stringify(berry, null, 2)}\n` : undefined;
  return { files: { [NPMRC_FILE]: npmrc, ...(ca ? { [CA_FILE]: `${ca}\n` } : {}) }, yarnrc, env, yarnEnv: berryEnv(berry, values) };
}
