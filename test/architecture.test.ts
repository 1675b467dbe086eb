// The import graph of the shipped code, checked: dependencies point one way (docs/architecture.md).
// A plain test over the TypeScript sources rather than an eslint plugin: `ts.preProcessFile` (the
// compiler the project already has) lists a file's imports, type-only ones included, in a
// millisecond, and the rules are folder rules a lint plugin would need as much code to express.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHIPPED = ['server', 'builder', 'router', 'cli', 'lib', 'dashboard/src'];
const MAX_LINES = 300;
/** The only files at server/'s root: the wiring (main.ts) and the settings it reads (config.ts). */
const SERVER_ROOT = ['main.ts', 'config.ts'];
/** What only one runtime uses: main.ts picks among them, the code above it sees their interfaces (`types.ts`). */
const RUNTIME_SPECIFIC = ['server/docker/', 'server/sandbox/', 'server/runtime/process/', 'server/runtime/docker/', 'server/addons/process/', 'server/addons/docker/', 'builder/docker/', 'server/netns/'];
/** CLI commands that run server or router code in this process (`paas server`, `paas router`, `paas stack:build`), loaded only when run. */
const LAUNCHERS = ['cli/commands/server.ts', 'cli/commands/router.ts', 'cli/commands/stack/build.ts'];

interface Edge {
  from: string;
  to: string;
  /** `import('…')`: loaded when the code runs, not when the file is. */
  dynamic: boolean;
}

function sources(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name)) out.push(p);
    }
  };
  for (const dir of SHIPPED) walk(dir);
  return out;
}

/** The file an import names: `x.js` is `x.ts`, or in the dashboard `x.tsx` (TypeScript's and esbuild's rule). */
function resolve(target: string): string {
  if (!target.endsWith('.js')) return target;
  const base = target.slice(0, -'.js'.length);
  return [`${base}.ts`, `${base}.tsx`].find((f) => fs.existsSync(path.join(ROOT, f))) ?? `${base}.ts`;
}

function edges(files: string[]): Edge[] {
  const out: Edge[] = [];
  for (const from of files) {
    const text = fs.readFileSync(path.join(ROOT, from), 'utf8');
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const to = resolve(path.posix.normalize(path.posix.join(path.posix.dirname(from), imported.fileName)));
      const dynamic = /import\(\s*$/.test(text.slice(0, imported.pos));
      out.push({ from, to, dynamic });
    }
  }
  return out;
}

/** Import loops, each as the files on it (Tarjan's strongly connected components). */
function loops(files: string[], all: Edge[]): string[][] {
  const next = new Map(files.map((f) => [f, all.filter((e) => e.from === f).map((e) => e.to)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of next.get(v) ?? []) {
      if (!next.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

const files = sources();
const graph = edges(files);
const under = (dir: string) => (file: string) => file.startsWith(`${dir}/`);
const offending = (from: (f: string) => boolean, to: (f: string) => boolean) => graph.filter((e) => from(e.from) && to(e.to)).map((e) => `${e.from} → ${e.to}`);

describe('the import graph', () => {
  it('has no loops, type-only imports included', () => {
    expect(loops(files, graph)).toEqual([]);
  });

  it('points into server/control only from above it: http, git and the wiring', () => {
    const above = (f: string) => ['server/control/', 'server/http/', 'server/git/'].some((d) => f.startsWith(d)) || /^server\/[^/]+\.ts$/.test(f);
    expect(offending((f) => !above(f), under('server/control'))).toEqual([]);
  });

  it('keeps control, http and git blind to the runtime: runtimes, slug builders and add-on drivers only through their interfaces', () => {
    const specific = (f: string) => RUNTIME_SPECIFIC.some((d) => f.startsWith(d)) || (f.startsWith('server/slug-builder/') && f !== 'server/slug-builder/types.ts');
    const above = (f: string) => ['server/control/', 'server/http/', 'server/git/'].some((d) => f.startsWith(d));
    expect(offending(above, specific)).toEqual([]);
  });

  it('keeps server/http out of the store: handlers call control functions', () => {
    expect(offending(under('server/http'), under('server/store'))).toEqual([]);
  });

  it('keeps the runtimes apart from the builder', () => {
    expect(offending(under('server/runtime'), under('builder'))).toEqual([]);
  });

  it('keeps lib/ at the bottom and the builder apart from the server', () => {
    expect(offending(under('lib'), (f) => !f.startsWith('lib/'))).toEqual([]);
    expect(offending(under('builder'), (f) => ['server/', 'cli/', 'router/'].some((d) => f.startsWith(d)))).toEqual([]);
    expect(offending(under('router'), (f) => ['server/', 'cli/', 'builder/'].some((d) => f.startsWith(d)))).toEqual([]);
  });

  it('keeps the CLI a client: no server, builder or router code but in the launchers, loaded when run', () => {
    const inside = (f: string) => ['server/', 'builder/', 'router/'].some((d) => f.startsWith(d));
    const wrong = graph.filter((e) => e.from.startsWith('cli/') && inside(e.to) && !(LAUNCHERS.includes(e.from) && e.dynamic));
    expect(wrong.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });
  it("keeps the dashboard a client of the API: of the rest it imports only the API's shapes (types, shared with the CLI)", () => {
    expect(offending(under('dashboard'), (f) => !f.startsWith('dashboard/') && f !== 'lib/api-types.ts')).toEqual([]);
  });
});

describe('the source tree', () => {
  it(`has no file over ${MAX_LINES} lines`, () => {
    const long = files.map((f) => ({ f, lines: fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').length - 1 })).filter((x) => x.lines > MAX_LINES);
    expect(long.map((x) => `${x.f}: ${x.lines}`)).toEqual([]);
  });

  it('holds only the wiring at server/ root', () => {
    const loose = files.filter((f) => /^server\/[^/]+\.ts$/.test(f)).map((f) => f.slice('server/'.length));
    expect(loose.filter((f) => !SERVER_ROOT.includes(f))).toEqual([]);
  });
});
