import Module from 'node:module';

/**
 * Preloaded (`node -r`, or NODE_OPTIONS=--require) for the bench's "core, without addon" rows and the
 * no-addon test tier (scripts/test.sh): ssh2 as the bundled .vsix has it. The
 * bundle leaves `*.node` and `cpu-features` out (esbuild.mjs), so in VS Code requiring ssh2's
 * `sshcrypto.node` fails and ssh2 falls back to Node's crypto, and `cpu-features` is missing. Here
 * both requires fail the same way; bench/run.ts checks ssh2's `bindingAvailable` to prove it.
 */
const loader = Module as unknown as { _load(request: string, ...rest: unknown[]): unknown };
const load = loader._load;
loader._load = function (this: unknown, request: string, ...rest: unknown[]): unknown {
  if (request.endsWith('sshcrypto.node') || request === 'cpu-features') {
    const error = new Error(`Cannot find module '${request}' (left out, as in the .vsix)`);
    (error as NodeJS.ErrnoException).code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return load.call(this, request, ...rest);
};
