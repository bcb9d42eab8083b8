#!/usr/bin/env node
// Runs a TypeScript script of test/ (a benchmark, or the demo's modes walk):
// esbuild bundles it (with the test helpers it imports) next to itself, so
// paths relative to the repo still hold, and node runs the result.
// Benchmarks print figures; they never assert on them.
//
//   node test/bench/run.mjs test/bench/hsm.ts [args for the script...]
import { rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node test/bench/run.mjs test/PATH/NAME.ts [args...]');
  process.exit(64);
}
const source = resolve(file);
const outfile = join(dirname(source), `.${basename(source, '.ts')}.${process.pid}.mjs`);
await build({ entryPoints: [source], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
// The benchmark sees its own arguments from argv[2] on.
process.argv.splice(2, 1);
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}
