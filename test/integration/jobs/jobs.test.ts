/**
 * trustlink run --jobs against the Jobs stand-in on a real mosquitto, the
 * key in SoftHSM2: handlers that succeed and fail, an unknown operation, a
 * handler others may write (refused), two queued jobs in order, the agent
 * killed during a job, and a job AWS IoT times out. Tests run as root, so
 * "owned by root" holds for every handler they write; the writable-by-others
 * rule is what they can break.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_REASON } from '../../../src/jobs/machine.js';
import { createJobsStack, recorded, THING, type JobsStack } from '../../helpers/jobs-stack.js';
import { SERVICE_USER } from '../../helpers/as-user.js';
import type { RunningCli } from '../../helpers/run.js';

let js: JobsStack;

beforeAll(async () => {
  js = await createJobsStack('jobs');
});

afterAll(async () => {
  await js?.close();
});

const marker = (name: string): string => join(js.stack.dir, name);

describe('one agent, several jobs', () => {
  let agent: RunningCli;

  beforeAll(async () => {
    agent = js.agent();
    await agent.waitFor('the first start-next', () => agent.countLogs('subscribed') >= 5);
  });

  afterAll(async () => {
    expect(await agent.stop()).toBe(0);
  });

  it('runs a handler with its args as argv, no shell, and reports SUCCEEDED with its stderr tail', async () => {
    js.handler('hello', `printf '%s\\n' "$@" > ${marker('hello.argv')}\necho "on stdout"\necho "said on stderr" >&2\nexit 0`);
    await js.jobs.queue(THING, 'job-ok', { operation: 'hello', args: ['plain', '$(touch /tmp/trustlink-no-shell)', '*'] });
    const execution = await js.jobs.waitFor(THING, 'job-ok', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statusDetails).toEqual({ reason: 'Job exited with status: 0', stderr: 'said on stderr' });
    // $1 is runAsUser (empty in the old schema), as the Device Client passes it; nothing was expanded.
    expect(readFileSync(marker('hello.argv'), 'utf8')).toBe('\nplain\n$(touch /tmp/trustlink-no-shell)\n*\n');
    expect(existsSync('/tmp/trustlink-no-shell')).toBe(false);
  });

  it('reports FAILED with the exit status and a stderr tail cut to AWS limits (new schema, stdout asked for)', async () => {
    js.handler('fails', 'i=0; while [ $i -lt 300 ]; do echo "error line $i" >&2; i=$((i+1)); done\necho "the end" >&2\necho out\nexit 3');
    await js.jobs.queue(THING, 'job-fail', {
      version: '1.0', includeStdOut: 'true',
      steps: [{ action: { name: 'Fail', type: 'runHandler', input: { handler: 'fails', path: 'default' }, runAsUser: 'root' } }],
    });
    const execution = await js.jobs.waitFor(THING, 'job-fail', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    expect(execution.status).toBe('FAILED');
    expect(execution.statusDetails.reason).toBe('Job exited with status: 3');
    expect(execution.statusDetails.stdout).toBe('out');
    const stderr = execution.statusDetails.stderr as string;
    expect(Array.from(stderr)).toHaveLength(1024);
    expect(stderr.endsWith('error line 299 | the end')).toBe(true);
    // The stand-in refuses what AWS refuses: the report went through on the first try.
    expect(js.jobs.logic.updates.filter((update) => update.jobId === 'job-fail').map((update) => update.accepted)).toEqual([true]);
  });

  it('REJECTS an unknown operation, saying why', async () => {
    await js.jobs.queue(THING, 'job-unknown', { operation: 'no-such-handler' });
    const execution = await js.jobs.waitFor(THING, 'job-unknown', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    expect(execution.status).toBe('REJECTED');
    expect(execution.statusDetails.reason).toContain('unknown operation "no-such-handler"');
  });

  it('refuses a handler that others or its group may write, without running it', async () => {
    for (const [jobId, mode] of [['job-world', 0o777], ['job-group', 0o775]] as const) {
      js.handler(`writable-${mode.toString(8)}`, `touch ${marker(`ran-${mode.toString(8)}`)}`, mode);
      await js.jobs.queue(THING, jobId, { operation: `writable-${mode.toString(8)}` });
      const execution = await js.jobs.waitFor(THING, jobId, ['SUCCEEDED', 'FAILED', 'REJECTED']);
      expect(execution.status).toBe('REJECTED');
      expect(execution.statusDetails.reason).toContain('writable by group or others');
      expect(existsSync(marker(`ran-${mode.toString(8)}`))).toBe(false);
    }
  });

  it('runs two queued jobs one after the other, in order', async () => {
    js.handler('slow', `echo "start $1 $(date +%s%N)" >> ${marker('order')}\nsleep 1\necho "end $1 $(date +%s%N)" >> ${marker('order')}`);
    await js.jobs.queue(THING, 'job-a', { version: '1.0', steps: [{ action: { name: 'a', type: 'runHandler', input: { handler: 'slow' }, runAsUser: 'a' } }] });
    await js.jobs.queue(THING, 'job-b', { version: '1.0', steps: [{ action: { name: 'b', type: 'runHandler', input: { handler: 'slow' }, runAsUser: 'b' } }] });
    const b = await js.jobs.waitFor(THING, 'job-b', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    const a = js.jobs.logic.find(THING, 'job-a');
    expect([a?.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const lines = readFileSync(marker('order'), 'utf8').trim().split('\n').map((line) => line.split(' ').slice(0, 2).join(' '));
    expect(lines).toEqual(['start a', 'end a', 'start b', 'end b']);
    // b was started only after a was reported.
    expect((b.startedAt as number) >= (a?.lastUpdatedAt as number)).toBe(true);
  });

  it('lists the last results with trustlink jobs --json, newest first', async () => {
    // The stand-in holds SUCCEEDED a moment before the agent has the acknowledgement and records it.
    await recorded(agent, 'job-b');
    const result = await js.jobsCli();
    expect(result.code).toBe(0);
    const shown = JSON.parse(result.stdout) as { current: unknown; history: { jobId: string; status: string }[] };
    expect(shown.current).toBeNull();
    expect(shown.history.slice(0, 3).map((entry) => [entry.jobId, entry.status])).toEqual([['job-b', 'SUCCEEDED'], ['job-a', 'SUCCEEDED'], ['job-group', 'REJECTED']]);
  });
});

it('never runs a job twice: killed during the handler, restarted, the job ends FAILED', async () => {
  js.handler('long', `echo started >> ${marker('long.runs')}\nsleep 20`);
  const first = js.agent();
  await first.waitFor('the agent up', () => first.countLogs('subscribed') >= 5);
  await js.jobs.queue(THING, 'job-killed', { operation: 'long' });
  await first.waitFor('the handler started', () => first.countLogs('job handler started') === 1);
  const handlerPid = first.logs().find((line) => line.message === 'job handler started')?.pid as number;
  first.child.kill('SIGKILL');
  await first.exited;
  // The orphaned handler (its own process group) is ours to stop: a power cut would have ended it too.
  process.kill(-handlerPid, 'SIGKILL');
  expect(js.jobs.logic.find(THING, 'job-killed')?.status).toBe('IN_PROGRESS');

  const second = js.agent();
  try {
    const execution = await js.jobs.waitFor(THING, 'job-killed', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    expect(execution.status).toBe('FAILED');
    expect(execution.statusDetails.reason).toBe(INTERRUPTED_REASON);
    expect(readFileSync(marker('long.runs'), 'utf8')).toBe('started\n');
    expect(second.countLogs('job handler started')).toBe(0);
    await recorded(second, 'job-killed');
  } finally {
    expect(await second.stop()).toBe(0);
  }
});

it('never runs a job twice even when its saved record is gone (start-next\'s token says an earlier run started it)', async () => {
  js.handler('long2', `echo started >> ${marker('long2.runs')}\nsleep 20`);
  const first = js.agent();
  await first.waitFor('the agent up', () => first.countLogs('subscribed') >= 5);
  await js.jobs.queue(THING, 'job-lost-record', { operation: 'long2' });
  await first.waitFor('the handler started', () => first.countLogs('job handler started') === 1);
  const handlerPid = first.logs().find((line) => line.message === 'job handler started')?.pid as number;
  first.child.kill('SIGKILL');
  await first.exited;
  process.kill(-handlerPid, 'SIGKILL');
  // As if the power cut came before the folder's entry for current.json reached the flash.
  writeFileSync(join(js.stateDir, 'jobs', 'current.json'), '{"half":');

  const second = js.agent();
  try {
    const execution = await js.jobs.waitFor(THING, 'job-lost-record', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    expect(execution).toMatchObject({ status: 'FAILED', statusDetails: { reason: INTERRUPTED_REASON } });
    expect(readFileSync(marker('long2.runs'), 'utf8')).toBe('started\n');
    expect(second.countLogs('jobs state unreadable; moved aside, starting afresh')).toBe(1);
    await recorded(second, 'job-lost-record');
  } finally {
    expect(await second.stop()).toBe(0);
  }
});

it('a job AWS IoT times out (step timer) is recorded TIMED_OUT, and the agent goes on', async () => {
  // 61 "minutes" of step timeout (the agent's 3600 s handler timeout + 1) last 1.2 s here.
  js.jobs.logic.minuteMs = 20;
  js.handler('sleepy', 'sleep 3');
  const agent = js.agent();
  try {
    await agent.waitFor('the agent up', () => agent.countLogs('subscribed') >= 5);
    await js.jobs.queue(THING, 'job-timeout', { operation: 'sleepy' });
    expect((await js.jobs.waitFor(THING, 'job-timeout', ['TIMED_OUT', 'SUCCEEDED'])).status).toBe('TIMED_OUT');
    await recorded(agent, 'job-timeout');
    const update = js.jobs.logic.updates.find((seen) => seen.jobId === 'job-timeout');
    expect(update).toMatchObject({ accepted: false, code: 'InvalidStateTransition' });
    const history = JSON.parse((await js.jobsCli()).stdout).history as { jobId: string; status: string; note?: string }[];
    expect(history[0]).toMatchObject({ jobId: 'job-timeout', status: 'TIMED_OUT', note: expect.stringContaining('InvalidStateTransition') });
  } finally {
    js.jobs.logic.minuteMs = 60_000;
    expect(await agent.stop()).toBe(0);
  }
});

it('as the unit runs it (User=trustlink): root\'s and its own handlers run as that user, another user\'s is refused', async () => {
  js.handler('whoami', 'id -un >&2');
  js.handler('theirs', 'exit 0');
  const agent = js.agent({ asServiceUser: true });
  try {
    await agent.waitFor('the agent up', () => agent.countLogs('subscribed') >= 5);
    await js.jobs.queue(THING, 'job-as-user', { operation: 'whoami' });
    expect(await js.jobs.waitFor(THING, 'job-as-user', ['SUCCEEDED', 'FAILED', 'REJECTED'])).toMatchObject({ status: 'SUCCEEDED', statusDetails: { stderr: 'trustlink' } });
    // nobody (65534) is neither root nor the agent's user.
    execFileSync('chown', ['65534', join(js.handlerDir, 'theirs')]);
    await js.jobs.queue(THING, 'job-theirs', { operation: 'theirs' });
    const refused = await js.jobs.waitFor(THING, 'job-theirs', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    expect(refused.status).toBe('REJECTED');
    expect(refused.statusDetails.reason).toContain('is owned by uid 65534, not root or the agent\'s user');
    execFileSync('chown', [SERVICE_USER, join(js.handlerDir, 'theirs')]);
    await js.jobs.queue(THING, 'job-mine', { operation: 'theirs' });
    expect((await js.jobs.waitFor(THING, 'job-mine', ['SUCCEEDED', 'FAILED', 'REJECTED'])).status).toBe('SUCCEEDED');
    await recorded(agent, 'job-mine');
  } finally {
    expect(await agent.stop()).toBe(0);
  }
});
