#!/usr/bin/env node
// Runs a TypeScript benchmark from test/bench/: esbuild bundles it (dependencies
// stay external) into .tmp/, and Node runs that. Benchmarks are not tests:
// they print figures beside a baseline from the same run and assert nothing.
//
//   node test/bench/run.mjs credentials [args...]
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const name = process.argv[2];
if (!name) {
  console.error('usage: node test/bench/run.mjs NAME   (runs test/bench/NAME.ts)');
  process.exit(64);
}
const outdir = join(here, '..', '..', '.tmp', 'bench');
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, `${name}.mjs`);
await build({ entryPoints: [join(here, `${name}.ts`)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
process.argv.splice(2, 1);
await import(pathToFileURL(outfile).href);
