#!/usr/bin/env node
// npm run bench: every benchmark in one run. The start-up benchmark writes
// BENCHMARKS.md; each other one prints its report as markdown, which goes to
// the terminal and, under its own heading, into BENCHMARKS.md, so that the
// figures live in that one file. A benchmark that fails stops the run.
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

const BENCH = import.meta.dirname;
const REPORT = join(BENCH, '..', '..', 'BENCHMARKS.md');
const OTHERS = ['rtt', 'hsm', 'credentials', 'modes', 'provision', 'spool', 'rotate', 'bridge', 'jobs'];

const run = (name, capture) => spawnSync(process.execPath, [join(BENCH, 'run.mjs'), join(BENCH, `${name}.ts`)], {
  encoding: 'utf8', stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], maxBuffer: 64 << 20,
});

if (run('startup', false).status !== 0) process.exit(1);
for (const name of OTHERS) {
  const result = run(name, true);
  process.stdout.write(result.stdout ?? '');
  if (result.status !== 0) {
    console.error(`bench: test/bench/${name}.ts failed (exit ${result.status ?? result.signal}); BENCHMARKS.md has the benchmarks before it`);
    process.exit(1);
  }
  appendFileSync(REPORT, `\n## ${name} (test/bench/${name}.ts)\n\n${result.stdout.trim()}\n`);
}
