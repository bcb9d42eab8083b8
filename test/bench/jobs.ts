/**
 * How quickly the agent runs an AWS IoT job, against the Jobs stand-in on
 * a loopback mosquitto with the key in SoftHSM2: from the job queued in the
 * stand-in to its handler starting, and from the handler's exit to the
 * stand-in seeing SUCCEEDED. Beside them, in the same run, the cost of
 * starting a process (node spawning `/bin/sh -c true`); and the agent's
 * resident memory with jobs and the shadow on, beside the same agent with
 * both off. Figures only, never asserts.
 *
 *   node test/bench/run.mjs test/bench/jobs.ts     (after npm run build)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createJobsStack, THING } from '../helpers/jobs-stack.js';
import type { RunningCli } from '../helpers/run.js';
import { median } from './timing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
/** Settle time before reading RSS, so start-up garbage is collected or not, the same for both. */
const SETTLE_MS = 3_000;

const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function settledRss(agent: RunningCli): Promise<number> {
  await sleep(SETTLE_MS);
  return rssKiB(agent.child.pid as number);
}

const js = await createJobsStack('bench-jobs');
try {
  // The handler stamps its start and, last thing before it exits, its end (wall clock, ns).
  js.handler('stamp', `date +%s%N > ${js.stack.dir}/start-$TRUSTLINK_JOB_ID\ndate +%s%N > ${js.stack.dir}/end-$TRUSTLINK_JOB_ID`);
  const stamp = (what: string, jobId: string): number => Number(readFileSync(join(js.stack.dir, `${what}-${jobId}`), 'utf8').trim()) / 1e6;

  const spawnMs: number[] = [];
  for (let index = 0; index <= RUNS; index++) {
    const started = performance.now();
    spawnSync('/bin/sh', ['-c', 'true']);
    if (index > 0) spawnMs.push(performance.now() - started);
  }

  const plain = js.agent({ jobs: false });
  await plain.waitFor('connected', () => plain.countLogs('connected') >= 1);
  const plainRss = await settledRss(plain);
  await plain.stop();

  const agent = js.agent({ shadow: true });
  await agent.waitFor('subscribed', () => agent.countLogs('subscribed') >= 10);
  const toStart: number[] = [];
  const toSucceeded: number[] = [];
  for (let index = 0; index <= RUNS; index++) {
    const jobId = `bench-${index}`;
    const queuedAt = Date.now();
    await js.jobs.queue(THING, jobId, { operation: 'stamp' });
    const execution = await js.jobs.waitFor(THING, jobId, ['SUCCEEDED', 'FAILED', 'REJECTED']);
    if (execution.status !== 'SUCCEEDED') throw new Error(`${jobId}: ${execution.status} ${JSON.stringify(execution.statusDetails)}`);
    // The first job warms up; it is left out like the other benchmarks' first run.
    if (index === 0) continue;
    toStart.push(stamp('start', jobId) - queuedAt);
    toSucceeded.push(execution.lastUpdatedAt - stamp('end', jobId));
  }
  const jobsRss = await settledRss(agent);
  await agent.stop();

  console.log(`\nmedian of ${RUNS} runs after a warm-up (node ${process.version}, ${process.platform}-${process.arch}, SoftHSM2, mosquitto on loopback)\n`);
  console.log('| what | median ms | min ms | max ms |\n| --- | ---: | ---: | ---: |');
  for (const [what, values] of [
    ['job queued in the stand-in → handler started', toStart],
    ['handler exited → SUCCEEDED seen by the stand-in', toSucceeded],
    ['baseline: node spawns /bin/sh -c true', spawnMs],
  ] as const) {
    console.log(`| ${what} | ${median(values).toFixed(1)} | ${Math.min(...values).toFixed(1)} | ${Math.max(...values).toFixed(1)} |`);
  }
  console.log(`\n| agent (trustlink run), ${SETTLE_MS / 1000} s after its last job | RSS MiB |\n| --- | ---: |`);
  console.log(`| jobs and shadow off | ${(plainRss / 1024).toFixed(1)} |`);
  console.log(`| jobs and shadow on, after ${RUNS + 1} jobs | ${(jobsRss / 1024).toFixed(1)} |`);
} finally {
  await js.close();
}
