// The operator's package settings for builds, read once at start-up: PAAS_BUILD_NPMRC, or else the
// npmrc files the host's own npm reads, plus PAAS_BUILD_CA_FILE. Certificates are read here, on the
// host, and reach builds as content; no build or dyno needs to see a host path.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NpmrcError, parseNpmrc } from '../../builder/npmrc.js';
import { passesToBuilds, PEM_CERTIFICATE as PEM, registryMounts, type RegistrySettings } from '../../builder/registry.js';

/** What to throw: config.ts turns it into its ConfigError (this module cannot import config.ts, which imports it). */
export class RegistryConfigError extends Error {}

const NPMRC_MAX = 1024 * 1024;
const CA_MAX = 8 * 1024 * 1024;

const npmFilesSeen = new Map<string, string[]>();

/**
 * The npmrc files the server's npm reads, global first and the user's last (the user's wins), as
 * that npm reports them (`npm config get`, run once per environment: ~150 ms). Empty without npm.
 */
function hostNpmFiles(env: NodeJS.ProcessEnv): string[] {
  // The npm paas's own steps run: found on PATH after the directory of the node running paas.
  const npmEnv: Record<string, string> = { PATH: [path.dirname(process.execPath), env.PATH || '/usr/local/bin:/usr/bin:/bin'].join(':') };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && (k === 'HOME' || k === 'PREFIX' || /^npm_config_/i.test(k))) npmEnv[k] = v;
  const key = JSON.stringify(npmEnv);
  const known = npmFilesSeen.get(key);
  if (known) return known;
  let files: string[] = [];
  try {
    // From /, so no project's .npmrc has a say.
    const out = execFileSync('npm', ['config', 'get', 'globalconfig', 'userconfig'], { cwd: '/', env: { ...npmEnv, NODE_DISABLE_COMPILE_CACHE: '1' }, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] });
    files = [...out.matchAll(/^(?:globalconfig|userconfig)=(.+)$/gm)].map((m) => m[1].trim());
  } catch {
    // No npm on this host: builds get no npmrc of its (but PAAS_BUILD_CA_FILE still).
  }
  npmFilesSeen.set(key, files);
  return files;
}

function readCapped(file: string, max: number): string {
  const text = fs.readFileSync(file);
  if (text.length > max) throw Object.assign(new Error(`larger than ${max / 1024 / 1024} MiB`), { code: 'EFBIG' });
  return text.toString('utf8');
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const why = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** The certificates in a PEM file, or a RegistryConfigError saying which setting named it and what to do. */
function readCertificates(file: string, namedBy: string): string {
  let text: string;
  try {
    text = readCapped(file, CA_MAX);
  } catch (err) {
    throw new RegistryConfigError(`${namedBy} names the CA file ${file}, which paas cannot read (${why(err)}). Point it at a readable PEM file.`);
  }
  const certs = text.match(PEM);
  if (!certs) throw new RegistryConfigError(`${namedBy} names the CA file ${file}, which holds no PEM certificate (-----BEGIN CERTIFICATE-----). Point it at the CA's PEM file.`);
  return `${certs.join('\n')}\n`;
}

/**
 * Reads the settings builds get. `PAAS_BUILD_NPMRC` names one npmrc; unset, the host npm's own
 * global and user npmrc are read, as the server's npm sees them (missing ones skipped). Only
 * registry, credential, TLS and proxy settings are kept (the rest is listed in `ignored`); cafile
 * and ca become `npmCa`, and `extraCaFile` (PAAS_BUILD_CA_FILE, …) `extraCa`. Throws
 * RegistryConfigError, saying what to set, on a file paas cannot read or use.
 */
export function loadRegistrySettings(env: NodeJS.ProcessEnv, extraCaFile: { file: string; namedBy: string; required: boolean } | undefined): RegistrySettings {
  const explicit = env.PAAS_BUILD_NPMRC ? path.resolve(env.PAAS_BUILD_NPMRC) : undefined;
  const files = explicit ? [explicit] : hostNpmFiles(env).filter((f) => fs.existsSync(f));
  const settings: RegistrySettings = { npmrc: [], sources: files, ignored: [] };
  let cafile: { file: string; namedBy: string } | undefined;
  let inline: string[] = [];
  for (const file of files) {
    const named = explicit ? `PAAS_BUILD_NPMRC (${file})` : `The host npm's config ${file}`;
    let text: string;
    try {
      text = readCapped(file, NPMRC_MAX);
    } catch (err) {
      const fix = explicit ? 'Set PAAS_BUILD_NPMRC to a readable npmrc file, or leave it unset to give builds the host npm\'s own settings.' : 'Make it readable by paas\'s user, or set PAAS_BUILD_NPMRC to the npmrc builds should use.';
      throw new RegistryConfigError(`${named} cannot be read (${why(err)}). ${fix}`);
    }
    let entries;
    try {
      entries = parseNpmrc(text, env);
    } catch (err) {
      if (!(err instanceof NpmrcError)) throw err;
      throw new RegistryConfigError(`${named}: ${err.message}. Fix it and start paas again.`);
    }
    const fileCa: string[] = [];
    for (const entry of entries) {
      if (entry.key === 'cafile') cafile = { file: path.resolve(path.dirname(file), entry.value), namedBy: `${named}'s cafile` };
      else if (entry.key === 'ca') fileCa.push(entry.value.replaceAll('\\n', '\n'));
      else if (/:(certfile|keyfile)$/.test(entry.key)) {
        throw new RegistryConfigError(`${named} sets ${entry.key}: client certificates are not passed to builds. Remove it, or authenticate with a token (//host/:_authToken).`);
      } else if (/^(https-)?proxy$/.test(entry.key) && ['', 'null', 'false'].includes(entry.value)) {
        // npm's way of saying "no proxy": as if unset.
      } else if (passesToBuilds(entry.key)) {
        if (/^(registry|@[^:/]+:registry|proxy|https-proxy)$/.test(entry.key) && !isHttpUrl(entry.value)) {
          throw new RegistryConfigError(`${named} sets ${entry.key} to "${entry.value.slice(0, 100)}", which is not an http(s) URL. Fix it (for example https://npm.example.com/) and start paas again.`);
        }
        settings.npmrc.push(entry);
      }
      else if (explicit && !settings.ignored.includes(entry.key)) settings.ignored.push(entry.key);
    }
    // A later file's ca replaces an earlier one's, as any setting does.
    if (fileCa.length) inline = fileCa;
  }
  const npmCa = [...(cafile ? [readCertificates(cafile.file, cafile.namedBy)] : []), ...inline.flatMap((pem) => pem.match(PEM) ?? [])];
  if (npmCa.length) settings.npmCa = `${npmCa.map((c) => c.trimEnd()).join('\n')}\n`;
  if (extraCaFile) {
    try {
      settings.extraCa = readCertificates(extraCaFile.file, extraCaFile.namedBy);
    } catch (err) {
      // Only PAAS_BUILD_CA_FILE is the operator's word; NODE_EXTRA_CA_CERTS and SSL_CERT_FILE are hints.
      if (extraCaFile.required) throw err;
    }
  }
  return settings;
}

/**
 * The env the server's own npm runs with for builds (engines.node's `npm view` and `npm pack`): the
 * settings as writeHostRegistry left them in `dir`.
 */
export function hostRegistryEnv(settings: RegistrySettings, dir: string): Record<string, string> {
  return registryMounts(settings, dir).env;
}

/** Writes the settings' files into `dir` (only the server's uid may enter it; the files are 0600), for hostRegistryEnv. */
export function writeHostRegistry(settings: RegistrySettings, dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const { files } = registryMounts(settings, dir);
  for (const name of fs.readdirSync(dir)) if (!(name in files)) fs.rmSync(path.join(dir, name), { force: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
}
