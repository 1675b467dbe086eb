import fs from 'node:fs';
import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { CliError } from '../../errors.js';
import { out } from '../../output.js';
import type { Cert } from '../../types.js';

function read(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`Could not read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Give the path of the PEM file.`);
  }
}

export default function register(program: Command): void {
  program
    .command('certs:add <CERT_FILE> <KEY_FILE>')
    .description('serve HTTPS for the app with a certificate (PEM, its chain after it) and its private key; routers pick it by SNI')
    .addOption(appOption())
    .action(async (certFile: string, keyFile: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const body = { cert: read(certFile, 'the certificate'), key: read(keyFile, 'the key') };
      const cert = await api<Cert>('POST', `/v1/apps/${encodeURIComponent(app)}/certs`, body);
      out(`Added ${cert.id} to ${app}: HTTPS for ${cert.hostnames.join(', ')}, issued by ${cert.issuer}, expires ${cert.not_after?.slice(0, 10)}. Renew it before then and add the new one.`);
    });
}
