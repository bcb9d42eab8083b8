import { describe, expect, it } from 'vitest';
import { JobsLogic } from '../../standin/jobs.js';

const T = 'thing-1';
const P = `$aws/things/${T}/jobs`;
const bodyOf = (out: { topic: string; body: object }[], topic: string): Record<string, unknown> => {
  const found = out.find((message) => message.topic === topic);
  if (found === undefined) throw new Error(`no ${topic} in ${out.map((message) => message.topic).join(', ')}`);
  return found.body as Record<string, unknown>;
};

describe('the Jobs stand-in', () => {
  it('announces the next job, starts it with a version bump, and moves on once it is done', () => {
    const jobs = new JobsLogic();
    expect(bodyOf(jobs.queue(T, 'a', { operation: 'x' }, 1_000), `${P}/notify-next`)).toMatchObject({ timestamp: 1, execution: { jobId: 'a', status: 'QUEUED', versionNumber: 1 } });
    // A second queued job does not change the next one: no notify-next.
    expect(jobs.queue(T, 'b', { operation: 'y' }, 2_000)).toEqual([]);
    const started = jobs.startNext(T, { clientToken: 'c1', stepTimeoutInMinutes: 5 }, 3_000);
    expect(bodyOf(started, `${P}/start-next/accepted`)).toMatchObject({ clientToken: 'c1', execution: { jobId: 'a', status: 'IN_PROGRESS', versionNumber: 2, jobDocument: { operation: 'x' }, startedAt: 3 } });
    // start-next again hands back the same job in progress, untouched.
    expect(bodyOf(jobs.startNext(T, {}, 4_000), `${P}/start-next/accepted`)).toMatchObject({ execution: { jobId: 'a', versionNumber: 2 } });
    const done = jobs.update(T, 'a', { status: 'SUCCEEDED', expectedVersion: 2, statusDetails: { reason: 'ok' }, includeJobExecutionState: true, clientToken: 'c2' }, 5_000);
    expect(bodyOf(done, `${P}/a/update/accepted`)).toMatchObject({ clientToken: 'c2', executionState: { status: 'SUCCEEDED', versionNumber: 3, statusDetails: { reason: 'ok' } } });
    expect(bodyOf(done, `${P}/notify-next`)).toMatchObject({ execution: { jobId: 'b' } });
    jobs.startNext(T, {}, 6_000);
    expect(bodyOf(jobs.update(T, 'b', { status: 'FAILED' }, 7_000), `${P}/notify-next`)).toEqual({ timestamp: 7 });
    expect(bodyOf(jobs.startNext(T, { clientToken: 'c3' }, 8_000), `${P}/start-next/accepted`)).toEqual({ timestamp: 8, clientToken: 'c3' });
  });

  it('refuses as AWS documents: VersionMismatch and InvalidStateTransition with the state, bad details, bad status', () => {
    const jobs = new JobsLogic();
    jobs.queue(T, 'a', {}, 0);
    jobs.startNext(T, {}, 0);
    expect(bodyOf(jobs.update(T, 'a', { status: 'SUCCEEDED', expectedVersion: 1 }, 0), `${P}/a/update/rejected`))
      .toMatchObject({ code: 'VersionMismatch', executionState: { status: 'IN_PROGRESS', versionNumber: 2 } });
    expect(bodyOf(jobs.update(T, 'a', { status: 'SUCCEEDED', statusDetails: { reason: 'line\nbreak' } }, 0), `${P}/a/update/rejected`)).toMatchObject({ code: 'InvalidRequest' });
    expect(bodyOf(jobs.update(T, 'a', { status: 'SUCCEEDED', statusDetails: { reason: 'x'.repeat(1025) } }, 0), `${P}/a/update/rejected`)).toMatchObject({ code: 'InvalidRequest' });
    expect(bodyOf(jobs.update(T, 'a', { status: 'TIMED_OUT' }, 0), `${P}/a/update/rejected`)).toMatchObject({ code: 'InvalidRequest' });
    expect(bodyOf(jobs.update(T, 'zzz', { status: 'SUCCEEDED' }, 0), `${P}/zzz/update/rejected`)).toMatchObject({ code: 'ResourceNotFound' });
    jobs.update(T, 'a', { status: 'SUCCEEDED' }, 0);
    expect(bodyOf(jobs.update(T, 'a', { status: 'FAILED' }, 0), `${P}/a/update/rejected`)).toMatchObject({ code: 'InvalidStateTransition', executionState: { status: 'SUCCEEDED' } });
    expect(bodyOf(jobs.describe(T, 'a', {}, 0), `${P}/a/get/rejected`)).toMatchObject({ code: 'TerminalStateReached' });
    expect(bodyOf(jobs.route(`${P}/start-next`, Buffer.from('{nope'), 0) ?? [], `${P}/start-next/rejected`)).toMatchObject({ code: 'InvalidJson' });
    expect(bodyOf(jobs.startNext(T, { stepTimeoutInMinutes: 0 }, 0), `${P}/start-next/rejected`)).toMatchObject({ code: 'InvalidRequest' });
  });

  it('times out a step: TIMED_OUT once stepTimeoutInMinutes passed, and an update resets the timer', () => {
    const jobs = new JobsLogic({ minuteMs: 1_000 });
    jobs.queue(T, 'a', {}, 0);
    jobs.startNext(T, { stepTimeoutInMinutes: 2 }, 0);
    expect(jobs.tick(1_999)).toEqual([]);
    jobs.update(T, 'a', { status: 'IN_PROGRESS', stepTimeoutInMinutes: 3 }, 1_500);
    expect(jobs.tick(4_000)).toEqual([]);
    expect(bodyOf(jobs.tick(4_500), `${P}/notify-next`)).toEqual({ timestamp: 4 });
    expect(jobs.find(T, 'a')?.status).toBe('TIMED_OUT');
  });

  it('answers get-pending and describe ($next too)', () => {
    const jobs = new JobsLogic();
    jobs.queue(T, 'a', { operation: 'x' }, 0);
    jobs.queue(T, 'b', {}, 0);
    jobs.startNext(T, {}, 0);
    expect(bodyOf(jobs.getPending(T, {}, 0), `${P}/get/accepted`)).toMatchObject({ inProgressJobs: [{ jobId: 'a' }], queuedJobs: [{ jobId: 'b' }] });
    expect(bodyOf(jobs.describe(T, '$next', {}, 0), `${P}/$next/get/accepted`)).toMatchObject({ execution: { jobId: 'a', jobDocument: { operation: 'x' } } });
    expect(bodyOf(jobs.describe(T, 'b', { includeJobDocument: false }, 0), `${P}/b/get/accepted`).execution).not.toHaveProperty('jobDocument');
  });
});
