// Builds the dashboard into dist/dashboard/: index.html (no-cache, names the current assets) and
// assets/app-<hash>.js|css (cached for a year, immutable), each with a .gz sibling the server sends
// to clients that accept gzip. Plain JS run by node, so `npm run build` needs no compile step first.
import console from 'node:console';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '..', 'dist', 'dashboard');

const started = Date.now();
// Old hashed assets would pile up: the output is made whole each time.
fs.rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints: [path.join(here, 'src', 'main.tsx')],
  outdir: path.join(out, 'assets'),
  entryNames: 'app-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const assets = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
const js = assets.find((f) => f.endsWith('.js'));
const css = assets.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild made ${assets.join(', ')}: expected one .js and one .css`);

// No inline script or style: the server's Content-Security-Policy allows 'self' only.
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>paas</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${css}">
<script type="module" src="/assets/${js}"></script>
</head>
<body>
<div id="root"></div>
<noscript><p>The paas dashboard needs JavaScript. The <code>paas</code> CLI does everything it does.</p></noscript>
</body>
</html>
`;
fs.writeFileSync(path.join(out, 'index.html'), html);

let gzipped = 0;
for (const name of assets) {
  const file = path.join(out, 'assets', name);
  const gz = zlib.gzipSync(fs.readFileSync(file), { level: 9 });
  fs.writeFileSync(`${file}.gz`, gz);
  gzipped += gz.length;
}
const ms = Date.now() - started;
console.log(`dashboard: dist/dashboard/ (${assets.join(', ')}; ${(gzipped / 1024).toFixed(1)} KB gzipped) in ${ms} ms`);
