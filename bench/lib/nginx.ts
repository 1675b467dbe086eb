// nginx as bench:router's baseline: a reverse proxy set up roughly as the paas router behaves (keep-alive
// to the dyno, Host kept, X-Forwarded-* set), run in the foreground from a temp dir of its own so it
// touches nothing of the machine's nginx (config, pid, temp paths, logs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Daemon, startDaemon } from './proc.js';

export interface NginxOptions {
  workers: number;
  listenPort: number;
  upstreamPort: number;
  /** Serve HTTPS with this certificate and key (PEM files), TLS 1.2 and 1.3, as the router does. */
  tls?: { certFile: string; keyFile: string };
}

export function nginxConf(opts: NginxOptions, dir: string): string {
  // As root, nginx would switch its workers to `nobody`, who cannot read our temp dir: stay root.
  const user = process.getuid?.() === 0 ? `user ${os.userInfo().username};\n` : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${path.join(dir, t)};`).join('\n');
  return `${user}daemon off;
master_process on;
worker_processes ${opts.workers};
pid ${path.join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
${temp}
  # nginx closes a client's keep-alive connection after 1000 requests by default; the router does
  # not, and reconnecting wrk's connections would only slow the baseline down.
  keepalive_requests 1000000;
  upstream dyno {
    server 127.0.0.1:${opts.upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
    # Under Node's 5 s keep-alive timeout, so nginx never reuses a socket the dyno is closing.
    keepalive_timeout 4s;
  }
  server {
    listen 127.0.0.1:${opts.listenPort}${opts.tls ? ' ssl' : ''};
${opts.tls ? `    ssl_certificate ${opts.tls.certFile};\n    ssl_certificate_key ${opts.tls.keyFile};\n    ssl_protocols TLSv1.2 TLSv1.3;\n` : ''}    location / {
      proxy_pass http://dyno;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
    }
  }
}
`;
}

/** Starts nginx from `dir` (a temp dir the caller removes); it listens once waitForOk says so. */
export function startNginx(nginx: string, opts: NginxOptions, dir: string): Daemon {
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConf(opts, dir));
  // -p: relative paths (and the default error log before the config is read) stay in `dir`.
  return startDaemon(nginx, ['-p', dir, '-c', conf, '-e', 'stderr'], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
}
