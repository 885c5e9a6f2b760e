// Bundles the extension into dist/extension.js, and the reader thread's program (a worker thread with
// an SSH connection of its own, src/core/connection/readerThread.ts) into dist/readerThread.js.
// Type checking is `npm run check-types`.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');

await esbuild.build({
  entryPoints: {
    extension: 'src/extension.ts',
    readerThread: 'src/core/connection/readerThreadMain.ts',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outdir: 'dist',
  // ssh2 falls back to Node's crypto when its optional native addons are missing, which is
  // what a VS Code install gets anyway: addons built for system Node do not match Electron's ABI.
  external: ['vscode', 'cpu-features', '*.node'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  logOverride: { 'import-is-undefined': 'error' },
});
