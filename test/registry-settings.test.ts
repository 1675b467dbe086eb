// The operator's registry settings, in parts: the npmrc format as npm reads it, the translation into
// what each tool reads (npm/pnpm/yarn 1, yarn berry, corepack), and reading them at start-up.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatNpmrc, nerfDart, NpmrcError, parseNpmrc } from '../builder/npmrc.js';
import { passesToBuilds, registryMounts, type RegistrySettings } from '../builder/registry.js';
import { loadRegistrySettings, RegistryConfigError } from '../server/slug-builder/registry.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { tempDir } from './helpers/paas.js';

const CERT = (n: number) => `-----BEGIN CERTIFICATE-----\nMIIB${n}\n-----END CERTIFICATE-----`;
const values = (text: string, env: NodeJS.ProcessEnv = {}) => parseNpmrc(text, env).map((e) => [e.key, e.value]);

describe('the npmrc format', () => {
  it('reads what npm reads: comments, quotes, escapes, arrays, a bare key', () => {
    const text = [
      '; a comment',
      '  # another',
      'registry = https://r.example.com/  ; after a value',
      '"quoted key"="a # not a comment"',
      "single='it''s kept'",
      'escaped=a\\;b\\#c',
      'ca[]=one',
      'ca[]=two',
      'always-auth',
      '',
    ].join('\r\n');
    expect(values(text)).toEqual([
      ['registry', 'https://r.example.com/'],
      ['quoted key', 'a # not a comment'],
      ['single', "it''s kept"],
      ['escaped', 'a;b#c'],
      ['ca', 'one'],
      ['ca', 'two'],
      ['always-auth', 'true'],
    ]);
    expect(parseNpmrc('ca[]=one', {})[0].array).toBe(true);
  });

  it("expands ${VAR} from the server's env, as npm does, and says which line names an unset one", () => {
    expect(values('//r/:_authToken=${TOKEN}\nopt=${MISSING?}x\nkept=\\${TOKEN}', { TOKEN: 's3cret' })).toEqual([
      ['//r/:_authToken', 's3cret'],
      ['opt', 'x'],
      ['kept', '${TOKEN}'],
    ]);
    expect(() => parseNpmrc('a=1\n//r/:_authToken=${NPM_TOKEN}', {})).toThrow(new NpmrcError("line 2 uses ${NPM_TOKEN}, which is not set in the server's environment"));
    expect(() => parseNpmrc('[section]\na=1', {})).toThrow(/line 1 opens a section/);
  });

  it('writes entries back so they read the same, whatever a token holds', () => {
    const entries = [
      { key: '//r.example.com/:_authToken', value: 'tok;en#with "quotes" and spaces', array: false },
      { key: 'registry', value: 'https://r.example.com/', array: false },
      { key: 'ca', value: 'x', array: true },
    ];
    expect(parseNpmrc(formatNpmrc(entries), {})).toEqual(entries);
  });

  it("names a registry's credentials as npm does", () => {
    expect(nerfDart('https://r.example.com:8443/npm/private')).toBe('//r.example.com:8443/npm/private/');
    expect(nerfDart('http://127.0.0.1:4873/')).toBe('//127.0.0.1:4873/');
    expect(nerfDart('file:///x')).toBeUndefined();
    expect(['registry', '@acme:registry', '//r/:_authToken', '//r:1/x/:_auth', 'https-proxy', 'strict-ssl'].every(passesToBuilds)).toBe(true);
    expect(['nodedir', 'prefix', 'cache', 'script-shell', 'ignore-scripts', '//r/:certfile', 'cafile'].some(passesToBuilds)).toBe(false);
  });
});

describe('registryMounts', () => {
  const settings = (npmrc: string, extra: Partial<RegistrySettings> = {}): RegistrySettings => ({ npmrc: parseNpmrc(npmrc, {}), sources: [], ignored: [], ...extra });

  it('gives npm, pnpm and yarn 1 one npmrc naming the CA there, and Node the CA too', () => {
    const m = registryMounts(settings('@acme:registry=https://npm.acme.test/\n//npm.acme.test/:_authToken=T1\n', { npmCa: `${CERT(1)}\n`, extraCa: `${CERT(2)}\n` }), '/opt/paas/registry');
    expect(m.files['ca.pem']).toBe(`${CERT(1)}\n${CERT(2)}\n`);
    expect(values(m.files.npmrc)).toEqual([
      ['@acme:registry', 'https://npm.acme.test/'],
      ['//npm.acme.test/:_authToken', 'T1'],
      ['cafile', '/opt/paas/registry/ca.pem'],
    ]);
    expect(m.env).toEqual({ npm_config_userconfig: '/opt/paas/registry/npmrc', NODE_EXTRA_CA_CERTS: '/opt/paas/registry/ca.pem' });
  });

  it('keeps an extra CA out of the npmrc (it adds to the roots), and gives nothing for no settings', () => {
    const extra = registryMounts(settings('', { extraCa: `${CERT(2)}\n` }), '/d');
    expect(extra.files).toEqual({ npmrc: '', 'ca.pem': `${CERT(2)}\n` });
    expect(extra.env).toEqual({ npm_config_userconfig: '/d/npmrc', NODE_EXTRA_CA_CERTS: '/d/ca.pem' });
    // A certificate in both (the host's bundle as cafile and as extra CA) is there once.
    expect(registryMounts(settings('', { npmCa: `${CERT(2)}\n${CERT(3)}\n`, extraCa: `${CERT(2)}\n` }), '/d').files['ca.pem']).toBe(`${CERT(2)}\n${CERT(3)}\n`);
    const none = registryMounts(settings(''), '/d');
    expect(none).toEqual({ files: { npmrc: '' }, yarnrc: undefined, env: { npm_config_userconfig: '/d/npmrc' }, yarnEnv: {} });
  });

  it('tells corepack, yarn berry and other tools the registry, its credentials and the proxy', () => {
    const npmrc = [
      'registry=https://mirror.test/npm/',
      '//mirror.test/npm/:_authToken=MIRROR-TOKEN',
      '@acme:registry=https://npm.acme.test',
      '//npm.acme.test/:_auth=dXNlcjpwYXNz',
      '@plain:registry=http://10.0.0.5:4873/',
      '//10.0.0.5:4873/:username=bob',
      '//10.0.0.5:4873/:_password=c2VjcmV0',
      'https-proxy=http://proxy.test:3128',
      'proxy=http://proxy.test:3128',
      'noproxy=localhost,.internal',
      'strict-ssl=false',
    ].join('\n');
    const m = registryMounts(settings(npmrc, { npmCa: `${CERT(1)}\n` }), '/r');
    expect(m.env).toMatchObject({
      HTTPS_PROXY: 'http://proxy.test:3128',
      https_proxy: 'http://proxy.test:3128',
      HTTP_PROXY: 'http://proxy.test:3128',
      NO_PROXY: 'localhost,.internal',
      no_proxy: 'localhost,.internal',
      COREPACK_NPM_REGISTRY: 'https://mirror.test/npm',
      COREPACK_NPM_TOKEN: 'MIRROR-TOKEN',
    });
    // berry reads no npmrc: the same settings as the .yarnrc.yml it finds at /, under the app's own.
    const yarnrc = JSON.parse(m.yarnrc!.split('\n').filter((l) => !l.startsWith('#')).join('\n'));
    expect(yarnrc).toEqual({
      npmRegistryServer: 'https://mirror.test/npm',
      npmScopes: { acme: { npmRegistryServer: 'https://npm.acme.test' }, plain: { npmRegistryServer: 'http://10.0.0.5:4873' } },
      npmRegistries: {
        '//mirror.test/npm': { npmAuthToken: 'MIRROR-TOKEN', npmAlwaysAuth: true },
        '//npm.acme.test': { npmAuthIdent: 'dXNlcjpwYXNz', npmAlwaysAuth: true },
        '//10.0.0.5:4873': { npmAuthIdent: 'bob:secret', npmAlwaysAuth: true },
      },
      httpsProxy: 'http://proxy.test:3128',
      httpProxy: 'http://proxy.test:3128',
      enableStrictSsl: false,
      unsafeHttpWhitelist: ['10.0.0.5'],
    });
    // Where no rc can sit above the app (no bubblewrap): the top-level ones as YARN_* env.
    expect(m.yarnEnv).toEqual({
      YARN_NPM_REGISTRY_SERVER: 'https://mirror.test/npm',
      YARN_NPM_AUTH_TOKEN: 'MIRROR-TOKEN',
      YARN_NPM_ALWAYS_AUTH: 'true',
      YARN_HTTPS_PROXY: 'http://proxy.test:3128',
      YARN_HTTP_PROXY: 'http://proxy.test:3128',
      YARN_ENABLE_STRICT_SSL: 'false',
      YARN_UNSAFE_HTTP_WHITELIST: '10.0.0.5',
    });
  });

  it("gives corepack a registry's basic credentials, found up its path as npm finds them", () => {
    const m = registryMounts(settings('registry=https://r.test/a/b/\n//r.test/:_auth=dXNlcjpwOnc='), '/r');
    expect(m.env).toMatchObject({ COREPACK_NPM_REGISTRY: 'https://r.test/a/b', COREPACK_NPM_USERNAME: 'user', COREPACK_NPM_PASSWORD: 'p:w' });
    expect(m.env.COREPACK_NPM_TOKEN).toBeUndefined();
  });
});

describe('loadRegistrySettings', () => {
  function write(dir: string, name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  it('reads PAAS_BUILD_NPMRC: registry settings kept, others listed, the CA read here from a path relative to it', () => {
    const dir = tempDir();
    write(dir, 'ca.pem', `junk\n${CERT(1)}\n`);
    const npmrc = write(dir, 'npmrc', '@acme:registry=https://npm.acme.test/\n//npm.acme.test/:_authToken=${T}\ncafile=ca.pem\nfund=false\nnodedir=/usr\nproxy=null\n');
    const extra = write(dir, 'extra.pem', `${CERT(2)}\n`);
    const s = loadRegistrySettings({ PAAS_BUILD_NPMRC: npmrc, T: 'tok' }, { file: extra, namedBy: 'PAAS_BUILD_CA_FILE', required: true });
    expect(s).toEqual({
      npmrc: [{ key: '@acme:registry', value: 'https://npm.acme.test/', array: false }, { key: '//npm.acme.test/:_authToken', value: 'tok', array: false }],
      npmCa: `${CERT(1)}\n`,
      extraCa: `${CERT(2)}\n`,
      sources: [npmrc],
      ignored: ['fund', 'nodedir'],
    });
  });

  it('refuses, saying what to set, a file it cannot read or use', () => {
    const dir = tempDir();
    const fail = (env: NodeJS.ProcessEnv, extra?: { file: string; namedBy: string; required: boolean }) => {
      try {
        loadRegistrySettings(env, extra);
      } catch (err) {
        expect(err).toBeInstanceOf(RegistryConfigError);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(fail({ PAAS_BUILD_NPMRC: path.join(dir, 'missing') })).toBe(`PAAS_BUILD_NPMRC (${path.join(dir, 'missing')}) cannot be read (ENOENT). Set PAAS_BUILD_NPMRC to a readable npmrc file, or leave it unset to give builds the host npm's own settings.`);
    const noCa = write(dir, 'no-ca', `cafile=${path.join(dir, 'nope.pem')}\n`);
    expect(fail({ PAAS_BUILD_NPMRC: noCa })).toContain(`cafile names the CA file ${path.join(dir, 'nope.pem')}, which paas cannot read (ENOENT)`);
    const notPem = write(dir, 'not-pem', `cafile=${noCa}\n`);
    expect(fail({ PAAS_BUILD_NPMRC: notPem })).toContain('which holds no PEM certificate');
    expect(fail({ PAAS_BUILD_NPMRC: write(dir, 'cert', '//r/:certfile=/x.pem\n') })).toContain('client certificates are not passed to builds');
    expect(fail({ PAAS_BUILD_NPMRC: write(dir, 'url', '@acme:registry=npm.acme.test\n') })).toContain('sets @acme:registry to "npm.acme.test", which is not an http(s) URL');
    expect(fail({ PAAS_BUILD_NPMRC: write(dir, 'unset', '//r/:_authToken=${NPM_TOKEN}\n') })).toContain("uses ${NPM_TOKEN}, which is not set in the server's environment");
    expect(fail({}, { file: path.join(dir, 'gone.pem'), namedBy: 'PAAS_BUILD_CA_FILE', required: true })).toContain('PAAS_BUILD_CA_FILE names the CA file');
    // A CA only hinted at by the host's environment (NODE_EXTRA_CA_CERTS) is skipped when missing.
    expect(loadRegistrySettings({ PAAS_BUILD_NPMRC: write(dir, 'empty', '') }, { file: path.join(dir, 'gone.pem'), namedBy: 'NODE_EXTRA_CA_CERTS', required: false }).extraCa).toBeUndefined();
    // loadConfig says it as a ConfigError.
    expect(() => loadConfig({ PAAS_BUILD_NPMRC: path.join(dir, 'missing') })).toThrow(ConfigError);
  });

  it("uses, when unset, the global and user npmrc the host's npm reads, the user's last", () => {
    const dir = tempDir();
    const home = fs.mkdirSync(path.join(dir, 'home'), { recursive: true })!;
    const global = write(dir, 'global-npmrc', `registry=https://global.test/\nstrict-ssl=false\ncafile=${write(dir, 'ca.pem', CERT(3))}\n`);
    const user = write(home, '.npmrc', 'registry=https://user.test/\nfund=false\n');
    const s = loadRegistrySettings({ PATH: process.env.PATH, HOME: home, npm_config_globalconfig: global }, undefined);
    expect(s.sources).toEqual([global, user]);
    expect(s.npmrc.map((e) => `${e.key}=${e.value}`)).toEqual(['registry=https://global.test/', 'strict-ssl=false', 'registry=https://user.test/']);
    expect(s.npmCa).toBe(`${CERT(3)}\n`);
    expect(s.ignored).toEqual([]); // the host's own other settings are its business
    // No npmrc at all: nothing but the extra CA.
    expect(loadRegistrySettings({ PATH: process.env.PATH, HOME: path.join(dir, 'nobody'), npm_config_globalconfig: path.join(dir, 'none') }, undefined)).toEqual({ npmrc: [], sources: [], ignored: [] });
  });
});
