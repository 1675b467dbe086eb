// Files that run on their own, outside paas's tree: the package-manager installer an image build
// runs as a script (builder/tool-install.ts) and the static server static slugs ship. They may
// import Node's built-ins only: an import of paas's own code fails there (ERR_MODULE_NOT_FOUND),
// which only the Docker suites would show, and only at a push.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paas.js';

describe('standalone scripts', () => {
  it.each(['builder/tool-install.ts', 'builder/static-server.ts'])('%s imports Node built-ins only', (file) => {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const imports = [...text.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((spec) => !spec.startsWith('node:'))).toEqual([]);
  });
});
