// esbuild bundles the stylesheet imported by main.tsx into app-<hash>.css; to TypeScript it is a side effect.
declare module '*.css';
