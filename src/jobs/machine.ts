/**
 * The job runner as a pure state machine: events in (what AWS IoT Jobs said,
 * what a handler did), actions out (what to publish, save, run). No MQTT,
 * no files, no processes here, so every path is unit-tested without a broker.
 *
 * One job at a time. The job in hand is saved (`save`) before anything runs,
 * so after a crash or power cut it is recognised when start-next hands it
 * back: a job that was running is reported FAILED, never run again; one
 * that rebooted gets its verdict from the boot that followed.
 */
import { parseJobDocument, type JobPlan } from './document.js';
import type { Verdict } from './handler.js';
import { statusDetails, type StatusDetails } from './status-details.js';

export interface Execution {
  jobId: string;
  executionNumber?: number;
  versionNumber?: number;
  status?: string;
  statusDetails?: StatusDetails;
  jobDocument?: unknown;
}

export interface ExecutionState {
  status: string;
  versionNumber?: number;
  statusDetails?: StatusDetails;
}

export interface Rejection {
  code: string;
  message?: string;
  executionState?: ExecutionState;
}

export type JobKind = JobPlan['kind'] | 'invalid';

/** The job in hand, as saved in <stateDir>/jobs/current.json. Never holds the document (a presigned URL is a credential). */
export interface CurrentJob {
  jobId: string;
  executionNumber?: number;
  /** The execution's versionNumber as last seen, for expectedVersion; unknown after a VersionMismatch without state. */
  versionNumber?: number;
  operation: string;
  kind: JobKind;
  phase: 'running' | 'rebooting' | 'reporting';
  startedAt: string;
  rebootRequestedAt?: string;
  verdict?: Verdict;
}

/** One finished job as `trustlink jobs` shows it: status is what AWS IoT holds now. */
export interface JobResult {
  jobId: string;
  operation: string;
  status: string;
  statusDetails: StatusDetails;
  startedAt?: string;
  finishedAt: string;
  /** Set when AWS IoT ended the job another way than we reported (TIMED_OUT, CANCELED, removed). */
  note?: string;
}

export type RequestKind = 'start-next' | 'update';

export type JobsEvent =
  /** recordLost: the saved state was unreadable and set aside, so a job in hand may have gone with it. */
  | { type: 'resume'; current: CurrentJob | undefined; recordLost?: boolean }
  | { type: 'connected' }
  | { type: 'notify-next'; execution: Execution | undefined }
  | { type: 'start-next-accepted'; execution: Execution | undefined }
  | { type: 'start-next-rejected'; rejection: Rejection }
  | { type: 'update-accepted'; jobId: string }
  | { type: 'update-rejected'; jobId: string; rejection: Rejection }
  | { type: 'no-answer'; request: RequestKind }
  | { type: 'retry-due'; request: RequestKind }
  | { type: 'finished'; jobId: string; verdict: Verdict }
  | { type: 'installed'; jobId: string };

export type JobsAction =
  | { type: 'start-next'; statusDetails: StatusDetails }
  | { type: 'update'; jobId: string; status: Verdict['status']; statusDetails: StatusDetails; expectedVersion?: number; executionNumber?: number }
  | { type: 'save'; current: CurrentJob | undefined }
  | { type: 'record'; result: JobResult }
  | { type: 'run'; job: CurrentJob; plan: Exclude<JobPlan, { kind: 'reboot' }> }
  | { type: 'reboot'; job: CurrentJob }
  | { type: 'check-boot'; job: CurrentJob }
  | { type: 'retry'; request: RequestKind; delayMs: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string; fields: Record<string, unknown> };

export interface MachineOptions {
  now(): Date;
  /**
   * Random, one per agent run: sent in start-next's statusDetails, which AWS IoT sets on a QUEUED
   * job and leaves alone on one already IN_PROGRESS. A job that comes back with another run's
   * token was started by that run; whether it also ran is known only from the saved record, written
   * (and fsynced) before anything runs. So the token decides only when that record was lost.
   */
  startToken: string;
  /** Backoff of retried requests: the Device Client's 10 s doubling to 640 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** Only these rejections are worth asking again (as the Device Client does). */
const RETRYABLE = new Set(['RequestThrottled', 'InternalError']);
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED']);

export const INTERRUPTED_REASON = 'the agent stopped while this job ran (crash, restart or power cut); it is not run again';
export const START_TOKEN_KEY = 'trustlinkStart';

export interface JobsMachine {
  handle(event: JobsEvent): JobsAction[];
  /** The job in hand, for status and the shadow. */
  current(): CurrentJob | undefined;
}

export function createJobsMachine(options: MachineOptions): JobsMachine {
  const retryMinMs = options.retryMinMs ?? 10_000;
  const retryMaxMs = options.retryMaxMs ?? 640_000;
  let current: CurrentJob | undefined;
  /** current came from disk and start-next has not confirmed it yet. */
  let resumed = false;
  /** The saved state was set aside: a job another run started may have run. */
  let recordLost = false;
  /** A handler, the updater or the boot check runs now. */
  let busy = false;
  let waiting: RequestKind | undefined;
  /** notify-next announced a job while start-next was in flight: its answer may predate the job. */
  let askAgain = false;
  const attempts: Record<RequestKind, number> = { 'start-next': 0, update: 0 };
  const iso = (): string => options.now().toISOString();

  const save = (job: CurrentJob | undefined): JobsAction => ({ type: 'save', current: job === undefined ? undefined : { ...job } });

  function startNext(): JobsAction[] {
    if (waiting !== undefined || busy) return [];
    waiting = 'start-next';
    return [{ type: 'start-next', statusDetails: { [START_TOKEN_KEY]: options.startToken } }];
  }

  function sendVerdict(): JobsAction[] {
    const job = current;
    if (job?.verdict === undefined) return [];
    waiting = 'update';
    return [{
      type: 'update', jobId: job.jobId, status: job.verdict.status, statusDetails: job.verdict.statusDetails,
      ...(job.versionNumber !== undefined ? { expectedVersion: job.versionNumber } : {}),
      ...(job.executionNumber !== undefined ? { executionNumber: job.executionNumber } : {}),
    }];
  }

  function retry(request: RequestKind): JobsAction[] {
    attempts[request]++;
    waiting = request;
    const delayMs = Math.min(retryMaxMs, retryMinMs * 2 ** (attempts[request] - 1));
    return [{ type: 'retry', request, delayMs }];
  }

  /** The job is done with: keep its result, forget it, ask for the next. */
  function close(status: string, note?: string, next = true): JobsAction[] {
    const job = current as CurrentJob;
    current = undefined;
    resumed = false;
    waiting = undefined;
    attempts.update = 0;
    const result: JobResult = {
      jobId: job.jobId, operation: job.operation, status, statusDetails: job.verdict?.statusDetails ?? {},
      startedAt: job.startedAt, finishedAt: iso(), ...(note !== undefined ? { note } : {}),
    };
    const log: JobsAction = { type: 'log', level: note === undefined ? 'info' : 'warn', message: 'job finished', fields: { jobId: job.jobId, operation: job.operation, status, ...(note !== undefined ? { note } : {}) } };
    return [{ type: 'record', result }, save(undefined), log, ...(next ? startNext() : [])];
  }

  function decide(verdict: Verdict): JobsAction[] {
    const job = current as CurrentJob;
    job.phase = 'reporting';
    job.verdict = verdict;
    return [save(job), ...sendVerdict()];
  }

  function begin(execution: Execution): JobsAction[] {
    const token = execution.statusDetails?.[START_TOKEN_KEY];
    // With the record intact, another run's token only says that run asked start-next and stopped before
    // it saved (so before it ran) the job: the answer came to a run that was gone. It runs now.
    const startedBefore = recordLost && token !== undefined && token !== options.startToken;
    const parsed = parseJobDocument(execution.jobDocument);
    const job: CurrentJob = {
      jobId: execution.jobId,
      ...(execution.executionNumber !== undefined ? { executionNumber: execution.executionNumber } : {}),
      ...(execution.versionNumber !== undefined ? { versionNumber: execution.versionNumber } : {}),
      operation: parsed.ok ? parsed.plan.operation : parsed.operation,
      kind: parsed.ok ? parsed.plan.kind : 'invalid',
      phase: 'running',
      startedAt: iso(),
    };
    current = job;
    const started: JobsAction = { type: 'log', level: 'info', message: 'job started', fields: { jobId: job.jobId, operation: job.operation, kind: job.kind } };
    if (startedBefore && job.kind !== 'invalid') {
      // Started by an earlier run whose record did not survive (unreadable, set aside): it may have run.
      return [{ type: 'log', level: 'warn', message: 'job was started before and has no saved record; reporting it failed', fields: { jobId: job.jobId } },
        ...decide({ status: 'FAILED', statusDetails: statusDetails({ reason: INTERRUPTED_REASON }) })];
    }
    if (!parsed.ok) {
      return [started, { type: 'log', level: 'warn', message: 'job document refused', fields: { jobId: job.jobId, reason: parsed.reason } },
        ...decide({ status: 'REJECTED', statusDetails: statusDetails({ reason: `invalid job document: ${parsed.reason}` }) })];
    }
    if (parsed.plan.kind === 'reboot') {
      job.phase = 'rebooting';
      job.rebootRequestedAt = iso();
      return [started, save(job), { type: 'reboot', job: { ...job } }];
    }
    busy = true;
    return [started, save(job), { type: 'run', job: { ...job }, plan: parsed.plan }];
  }

  /** start-next handed back the job we hold (after a restart, or a reconnect while reporting). */
  function resume(execution: Execution): JobsAction[] {
    const job = current as CurrentJob;
    if (execution.versionNumber !== undefined) job.versionNumber = execution.versionNumber;
    const wasResumed = resumed;
    resumed = false;
    if (job.phase === 'reporting') return sendVerdict();
    // Still this run (a reconnect before the reboot took the agent down): the verdict waits for the next boot.
    if (!wasResumed) return [];
    if (job.phase === 'rebooting') {
      if (job.kind === 'reboot') return decide({ status: 'SUCCEEDED', statusDetails: statusDetails({ reason: 'the device rebooted and the agent is back' }) });
      busy = true;
      return [{ type: 'check-boot', job: { ...job } }];
    }
    // phase running, and no process of ours runs it: it was cut short.
    return [{ type: 'log', level: 'warn', message: 'job was interrupted; reporting it failed', fields: { jobId: job.jobId } },
      ...decide({ status: 'FAILED', statusDetails: statusDetails({ reason: INTERRUPTED_REASON }) })];
  }

  function onExecution(execution: Execution | undefined): JobsAction[] {
    const actions: JobsAction[] = [];
    if (current !== undefined && current.jobId === execution?.jobId) return resume(execution);
    if (current !== undefined && !busy) {
      // AWS IoT no longer offers the job we hold: it timed out, was canceled or removed meanwhile.
      actions.push(...close('UNKNOWN', 'AWS IoT no longer lists this job as pending (timed out, canceled or removed)', false));
    }
    if (execution === undefined || current !== undefined) return actions;
    return [...actions, ...begin(execution)];
  }

  function onUpdateRejected(rejection: Rejection): JobsAction[] {
    const job = current as CurrentJob;
    const state = rejection.executionState;
    const fields = { jobId: job.jobId, code: rejection.code, message: rejection.message, status: state?.status };
    if (RETRYABLE.has(rejection.code)) return [{ type: 'log', level: 'warn', message: 'job update refused for now; retrying', fields }, ...retry('update')];
    if (rejection.code === 'VersionMismatch' && (state === undefined || !TERMINAL.has(state.status))) {
      if (state?.versionNumber !== undefined) job.versionNumber = state.versionNumber;
      else delete job.versionNumber;
      const log: JobsAction = { type: 'log', level: 'info', message: 'job version moved on; reporting again', fields: { ...fields, versionNumber: job.versionNumber } };
      // Straight away the first time; a version that keeps moving backs off.
      return [log, save(job), ...(attempts.update++ === 0 ? sendVerdict() : retry('update'))];
    }
    // InvalidStateTransition, TerminalStateReached, or a mismatch on a terminal job: AWS IoT's word is final.
    const ours = job.verdict?.status;
    if (state?.status === ours) return close(ours as string);
    const note = `AWS IoT refused the ${ours} report: ${rejection.code}${rejection.message ? ` (${rejection.message})` : ''}`;
    return close(state?.status ?? 'UNKNOWN', note);
  }

  return {
    current: () => (current === undefined ? undefined : { ...current }),
    handle(event) {
      switch (event.type) {
        case 'resume':
          current = event.current;
          resumed = current !== undefined;
          recordLost = event.recordLost === true;
          return [];
        case 'connected':
          // Answers to requests in flight were lost with the old connection.
          waiting = undefined;
          if (busy) return [];
          if (current?.phase === 'reporting' && !resumed) return sendVerdict();
          return startNext();
        case 'notify-next':
          if (event.execution === undefined || current !== undefined) return [];
          if (waiting === 'start-next') askAgain = true;
          return startNext();
        case 'start-next-accepted':
          if (waiting !== 'start-next') return [];
          waiting = undefined;
          attempts['start-next'] = 0;
          if (event.execution === undefined && askAgain && current === undefined) {
            askAgain = false;
            return startNext();
          }
          askAgain = false;
          return onExecution(event.execution);
        case 'start-next-rejected':
          if (waiting !== 'start-next') return [];
          waiting = undefined;
          if (RETRYABLE.has(event.rejection.code)) return retry('start-next');
          return [{ type: 'log', level: 'error', message: 'start-next refused', fields: { code: event.rejection.code, message: event.rejection.message } }];
        case 'update-accepted':
          if (waiting !== 'update' || current?.jobId !== event.jobId) return [];
          return close(current.verdict?.status ?? 'UNKNOWN');
        case 'update-rejected':
          if (waiting !== 'update' || current?.jobId !== event.jobId) return [];
          waiting = undefined;
          return onUpdateRejected(event.rejection);
        case 'no-answer':
          if (waiting !== event.request) return [];
          return [{ type: 'log', level: 'warn', message: 'no answer from AWS IoT Jobs; retrying', fields: { request: event.request } }, ...retry(event.request)];
        case 'retry-due':
          if (waiting !== event.request) return [];
          waiting = undefined;
          return event.request === 'start-next' ? startNext() : sendVerdict();
        case 'finished':
          if (current?.jobId !== event.jobId) return [];
          busy = false;
          return decide(event.verdict);
        case 'installed': {
          if (current?.jobId !== event.jobId) return [];
          busy = false;
          current.phase = 'rebooting';
          current.rebootRequestedAt = iso();
          return [save(current), { type: 'log', level: 'info', message: 'update installed; rebooting into it', fields: { jobId: current.jobId } }, { type: 'reboot', job: { ...current } }];
        }
      }
    },
  };
}
