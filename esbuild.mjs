// Bundles the extension into dist/extension.js. Type checking is `npm run check-types`.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');

await esbuild.build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/extension.js',
  // ssh2 falls back to Node's crypto when its optional native addons are missing, which is
  // what a VS Code install gets anyway: addons built for system Node do not match Electron's ABI.
  external: ['vscode', 'cpu-features', '*.node'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  logOverride: { 'import-is-undefined': 'error' },
});
