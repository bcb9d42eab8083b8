import { describe, expect, it } from 'vitest';
import { createJobsMachine, INTERRUPTED_REASON, type CurrentJob, type JobsAction, type JobsMachine } from '../../../src/jobs/machine.js';

const now = new Date('2026-12-02T07:00:00.000Z');
const machine = (): JobsMachine => createJobsMachine({ now: () => now, startToken: 'run-2' });
const types = (actions: JobsAction[]): string[] => actions.map((action) => action.type);
const of = <T extends JobsAction['type']>(actions: JobsAction[], type: T): Extract<JobsAction, { type: T }> => {
  const found = actions.find((action) => action.type === type);
  if (found === undefined) throw new Error(`no ${type} in ${types(actions).join(',')}`);
  return found as Extract<JobsAction, { type: T }>;
};
const handlerJob = { jobId: 'job-1', executionNumber: 1, versionNumber: 2, jobDocument: { operation: 'hello', args: ['a'] } };

/** A machine that has started job-1 and been told its handler's verdict. */
function reporting(): { m: JobsMachine; actions: JobsAction[] } {
  const m = machine();
  m.handle({ type: 'resume', current: undefined });
  m.handle({ type: 'connected' });
  m.handle({ type: 'start-next-accepted', execution: handlerJob });
  return { m, actions: m.handle({ type: 'finished', jobId: 'job-1', verdict: { status: 'SUCCEEDED', statusDetails: { reason: 'Job exited with status: 0' } } }) };
}

describe('the jobs state machine', () => {
  it('asks for the next job on connect, saves the job before running it, and reports with expectedVersion', () => {
    const m = machine();
    m.handle({ type: 'resume', current: undefined });
    expect(m.handle({ type: 'connected' })).toEqual([{ type: 'start-next', statusDetails: { trustlinkStart: 'run-2' } }]);
    const started = m.handle({ type: 'start-next-accepted', execution: handlerJob });
    expect(types(started).filter((type) => type !== 'log')).toEqual(['save', 'run']);
    expect(of(started, 'save').current).toMatchObject({ jobId: 'job-1', phase: 'running', kind: 'handlers', operation: 'hello' });
    const done = m.handle({ type: 'finished', jobId: 'job-1', verdict: { status: 'FAILED', statusDetails: { reason: 'Job exited with status: 3' } } });
    expect(of(done, 'save').current).toMatchObject({ phase: 'reporting', verdict: { status: 'FAILED' } });
    expect(of(done, 'update')).toEqual({ type: 'update', jobId: 'job-1', status: 'FAILED', statusDetails: { reason: 'Job exited with status: 3' }, expectedVersion: 2, executionNumber: 1 });
    const accepted = m.handle({ type: 'update-accepted', jobId: 'job-1' });
    expect(types(accepted).filter((type) => type !== 'log')).toEqual(['record', 'save', 'start-next']);
    expect(of(accepted, 'record').result).toMatchObject({ jobId: 'job-1', status: 'FAILED', operation: 'hello' });
    expect(of(accepted, 'save').current).toBeUndefined();
  });

  it('REJECTS an invalid document without running anything', () => {
    const m = machine();
    m.handle({ type: 'connected' });
    const actions = m.handle({ type: 'start-next-accepted', execution: { jobId: 'bad', versionNumber: 2, jobDocument: { steps: [{ action: { type: 'runCommand', input: { command: 'rm,-rf,/' } } }] } } });
    expect(types(actions)).not.toContain('run');
    expect(of(actions, 'update')).toMatchObject({ status: 'REJECTED', statusDetails: { reason: expect.stringContaining('runCommand') } });
  });

  it('takes one job at a time: notify-next while busy asks for nothing', () => {
    const m = machine();
    m.handle({ type: 'connected' });
    m.handle({ type: 'start-next-accepted', execution: handlerJob });
    expect(m.handle({ type: 'notify-next', execution: { jobId: 'job-2' } })).toEqual([]);
  });

  it('asks again when notify-next announces a job while idle, and ignores the empty notify-next', () => {
    const m = machine();
    m.handle({ type: 'connected' });
    m.handle({ type: 'start-next-accepted', execution: undefined });
    expect(m.handle({ type: 'notify-next', execution: undefined })).toEqual([]);
    expect(types(m.handle({ type: 'notify-next', execution: { jobId: 'job-2' } }))).toEqual(['start-next']);
  });

  it('never runs a job twice: a job found running after a restart is reported FAILED', () => {
    const m = machine();
    const saved: CurrentJob = { jobId: 'job-1', versionNumber: 2, operation: 'hello', kind: 'handlers', phase: 'running', startedAt: now.toISOString() };
    m.handle({ type: 'resume', current: saved });
    m.handle({ type: 'connected' });
    const actions = m.handle({ type: 'start-next-accepted', execution: { ...handlerJob, versionNumber: 2 } });
    expect(types(actions)).not.toContain('run');
    expect(of(actions, 'update')).toMatchObject({ status: 'FAILED', statusDetails: { reason: INTERRUPTED_REASON }, expectedVersion: 2 });
  });

  it('re-sends a verdict saved before the restart, with the version start-next gives', () => {
    const m = machine();
    m.handle({ type: 'resume', current: { jobId: 'job-1', versionNumber: 2, operation: 'hello', kind: 'handlers', phase: 'reporting', startedAt: now.toISOString(), verdict: { status: 'SUCCEEDED', statusDetails: {} } } });
    expect(types(m.handle({ type: 'connected' }))).toEqual(['start-next']);
    expect(of(m.handle({ type: 'start-next-accepted', execution: { ...handlerJob, versionNumber: 3 } }), 'update')).toMatchObject({ status: 'SUCCEEDED', expectedVersion: 3 });
  });

  it('reboot: saved as rebooting before the reboot, SUCCEEDED when start-next hands it back', () => {
    const m = machine();
    m.handle({ type: 'connected' });
    const actions = m.handle({ type: 'start-next-accepted', execution: { jobId: 'r', versionNumber: 2, jobDocument: { operation: 'reboot' } } });
    expect(types(actions).filter((type) => type !== 'log')).toEqual(['save', 'reboot']);
    const saved = of(actions, 'save').current as CurrentJob;
    expect(saved).toMatchObject({ phase: 'rebooting', rebootRequestedAt: now.toISOString() });

    const after = machine();
    after.handle({ type: 'resume', current: saved });
    after.handle({ type: 'connected' });
    expect(of(after.handle({ type: 'start-next-accepted', execution: { jobId: 'r', versionNumber: 2 } }), 'update')).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('update: installed → rebooting; after the restart the boot is checked before any verdict', () => {
    const m = machine();
    m.handle({ type: 'connected' });
    const started = m.handle({ type: 'start-next-accepted', execution: { jobId: 'u', versionNumber: 2, jobDocument: { operation: 'update', args: ['https://example.com/image.raucb?X-Amz-Signature=abc'] } } });
    expect(of(started, 'run').plan).toMatchObject({ kind: 'update', url: expect.stringContaining('https://') });
    // The saved job never holds the document: a presigned URL is a credential.
    expect(JSON.stringify(of(started, 'save'))).not.toContain('X-Amz-Signature');
    const installed = m.handle({ type: 'installed', jobId: 'u' });
    const saved = of(installed, 'save').current as CurrentJob;
    expect(saved.phase).toBe('rebooting');
    expect(types(installed)).toContain('reboot');

    const after = machine();
    after.handle({ type: 'resume', current: saved });
    after.handle({ type: 'connected' });
    expect(types(after.handle({ type: 'start-next-accepted', execution: { jobId: 'u', versionNumber: 2 } }))).toEqual(['check-boot']);
    expect(of(after.handle({ type: 'finished', jobId: 'u', verdict: { status: 'FAILED', statusDetails: { failedChecks: 'certificate' } } }), 'update')).toMatchObject({ status: 'FAILED' });
  });

  it('VersionMismatch: reports again at once with the version AWS gave', () => {
    const { m } = reporting();
    const actions = m.handle({ type: 'update-rejected', jobId: 'job-1', rejection: { code: 'VersionMismatch', executionState: { status: 'IN_PROGRESS', versionNumber: 5 } } });
    expect(of(actions, 'update')).toMatchObject({ status: 'SUCCEEDED', expectedVersion: 5 });
    // A version that keeps moving backs off instead of spinning.
    expect(types(m.handle({ type: 'update-rejected', jobId: 'job-1', rejection: { code: 'VersionMismatch', executionState: { status: 'IN_PROGRESS', versionNumber: 6 } } }))).toContain('retry');
  });

  it('InvalidStateTransition to a terminal state: records what AWS holds and moves on', () => {
    const { m } = reporting();
    const actions = m.handle({ type: 'update-rejected', jobId: 'job-1', rejection: { code: 'InvalidStateTransition', message: 'terminal', executionState: { status: 'TIMED_OUT', versionNumber: 3 } } });
    expect(of(actions, 'record').result).toMatchObject({ status: 'TIMED_OUT', note: expect.stringContaining('InvalidStateTransition') });
    expect(types(actions)).toContain('start-next');
  });

  it('a terminal state equal to ours (an earlier try landed) counts as reported', () => {
    const { m } = reporting();
    const actions = m.handle({ type: 'update-rejected', jobId: 'job-1', rejection: { code: 'TerminalStateReached', executionState: { status: 'SUCCEEDED' } } });
    expect(of(actions, 'record').result).toMatchObject({ status: 'SUCCEEDED' });
    expect(of(actions, 'record').result.note).toBeUndefined();
  });

  it('retries only RequestThrottled and InternalError, 10 s doubling to 640 s', () => {
    const { m } = reporting();
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map(() => {
      const retry = of(m.handle({ type: 'update-rejected', jobId: 'job-1', rejection: { code: 'RequestThrottled' } }), 'retry');
      m.handle({ type: 'retry-due', request: 'update' });
      return retry.delayMs;
    });
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 640_000]);
    const refused = m.handle({ type: 'update-rejected', jobId: 'job-1', rejection: { code: 'InvalidRequest', message: 'bad details' } });
    expect(types(refused)).not.toContain('retry');
    expect(of(refused, 'record').result.note).toContain('InvalidRequest');
  });

  it('an unanswered request is retried with backoff; answers to nothing asked are ignored', () => {
    const { m } = reporting();
    expect(of(m.handle({ type: 'no-answer', request: 'update' }), 'retry').delayMs).toBe(10_000);
    expect(m.handle({ type: 'start-next-accepted', execution: handlerJob })).toEqual([]);
    expect(of(m.handle({ type: 'retry-due', request: 'update' }), 'update').status).toBe('SUCCEEDED');
  });

  it('a saved job AWS no longer lists is recorded and forgotten, and the next one starts', () => {
    const m = machine();
    m.handle({ type: 'resume', current: { jobId: 'old', operation: 'x', kind: 'handlers', phase: 'running', startedAt: now.toISOString() } });
    m.handle({ type: 'connected' });
    const actions = m.handle({ type: 'start-next-accepted', execution: { ...handlerJob, jobId: 'new' } });
    expect(of(actions, 'record').result).toMatchObject({ jobId: 'old', status: 'UNKNOWN' });
    expect(of(actions, 'run').job.jobId).toBe('new');
  });
});

it('asks again when notify-next came while start-next was in flight and its answer was empty', () => {
  const m = machine();
  m.handle({ type: 'connected' });
  expect(m.handle({ type: 'notify-next', execution: { jobId: 'job-2' } })).toEqual([]);
  expect(types(m.handle({ type: 'start-next-accepted', execution: undefined }))).toEqual(['start-next']);
});

it('never runs a job an earlier run started when its saved record is lost', () => {
  const m = machine();
  m.handle({ type: 'resume', current: undefined, recordLost: true });
  m.handle({ type: 'connected' });
  const actions = m.handle({ type: 'start-next-accepted', execution: { ...handlerJob, status: 'IN_PROGRESS', statusDetails: { trustlinkStart: 'run-1' } } });
  expect(types(actions)).not.toContain('run');
  expect(of(actions, 'update')).toMatchObject({ status: 'FAILED', statusDetails: { reason: INTERRUPTED_REASON } });
  // This run's own token: a fresh start.
  const fresh = machine();
  fresh.handle({ type: 'resume', current: undefined, recordLost: true });
  fresh.handle({ type: 'connected' });
  expect(types(fresh.handle({ type: 'start-next-accepted', execution: { ...handlerJob, statusDetails: { trustlinkStart: 'run-2' } } }))).toContain('run');
});

it('runs a job another run asked for but never saved: that run stopped before the answer came', () => {
  const m = machine();
  m.handle({ type: 'resume', current: undefined });
  m.handle({ type: 'connected' });
  const actions = m.handle({ type: 'start-next-accepted', execution: { ...handlerJob, status: 'IN_PROGRESS', statusDetails: { trustlinkStart: 'run-1' } } });
  expect(types(actions)).toEqual(['log', 'save', 'run']);
});

it('a reconnect before the reboot took the agent down reports nothing yet', () => {
  const m = machine();
  m.handle({ type: 'connected' });
  m.handle({ type: 'start-next-accepted', execution: { jobId: 'r', versionNumber: 2, jobDocument: { operation: 'reboot' } } });
  expect(types(m.handle({ type: 'connected' }))).toEqual(['start-next']);
  expect(m.handle({ type: 'start-next-accepted', execution: { jobId: 'r', versionNumber: 2 } })).toEqual([]);
});
