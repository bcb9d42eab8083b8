/**
 * The MQTT edge of the job runner: AWS IoT Jobs topics in, machine events
 * out; the machine's actions carried out (publish, save, run a handler, the
 * updater, a reboot). Everything that decides lives in machine.ts.
 */
import { randomBytes } from 'node:crypto';
import { isTrustlinkError } from '../errors.js';
import type { MqttSession } from '../connection/mqtt.js';
import type { Logger } from '../log/log.js';
import { defaultReportFile } from '../selftest/report.js';
import { checkBoot } from './boot-check.js';
import type { JobPlan } from './document.js';
import { runHandlerSteps, verdictOfProcess, type Verdict } from './handler.js';
import { createJobsMachine, type CurrentJob, type Execution, type JobResult, type JobsAction, type JobsEvent, type Rejection, type RequestKind } from './machine.js';
import { runProcess } from './process.js';
import { statusDetails, withoutUrl } from './status-details.js';
import { onSubscribed } from './subscribe-then.js';
import { openJobsStore, readJobsStateOrSetAside } from './store.js';

/** The Device Client waits 10 s for each answer. */
const ANSWER_TIMEOUT_MS = 10_000;
/** How long an update's verdict waits for the boot self-test's report, checking every few seconds. */
const BOOT_REPORT_WAIT_MS = 10 * 60_000;
const BOOT_REPORT_POLL_MS = 2_000;

export interface JobsOptions {
  session: MqttSession;
  thingName: string;
  stateDir: string;
  handlerDir: string;
  handlerTimeoutMs: number;
  updateCommand: string | undefined;
  rebootCommand: string;
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** The `rotate` job's rotation (the agent's, over its session); absent when this device cannot rotate (not mTLS). */
  rotate?: () => Promise<{ certificateId: string; oldCertificateId: string }>;
  /** Once a rotate job is done with (reported), the agent restarts on the new identity. */
  onRotated?: () => void;
}

export interface JobsRunner {
  start(): void;
  stop(): void;
  /** The job in hand and the last result, for the agent's status. */
  status(): { current: CurrentJob | null; last: JobResult | null };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const numberOrNothing = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function details(value: unknown): Record<string, string> | undefined {
  return isObject(value) ? Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string')) : undefined;
}

/** Only what the machine reads, checked; anything else in the message is left behind. */
function execution(value: unknown): Execution | undefined {
  if (!isObject(value) || typeof value.jobId !== 'string') return undefined;
  const found: Execution = { jobId: value.jobId, jobDocument: value.jobDocument };
  const versionNumber = numberOrNothing(value.versionNumber);
  const executionNumber = numberOrNothing(value.executionNumber);
  const statusDetails = details(value.statusDetails);
  if (versionNumber !== undefined) found.versionNumber = versionNumber;
  if (executionNumber !== undefined) found.executionNumber = executionNumber;
  if (typeof value.status === 'string') found.status = value.status;
  if (statusDetails !== undefined) found.statusDetails = statusDetails;
  return found;
}

function rejection(body: Record<string, unknown>): Rejection {
  const found: Rejection = { code: typeof body.code === 'string' ? body.code : 'Unknown' };
  if (typeof body.message === 'string') found.message = body.message;
  const state = body.executionState;
  if (isObject(state) && typeof state.status === 'string') {
    const versionNumber = numberOrNothing(state.versionNumber);
    found.executionState = { status: state.status, ...(versionNumber !== undefined ? { versionNumber } : {}) };
  }
  return found;
}

/** A step timeout for AWS IoT that outlasts the agent's own handler timeout, so the device says why first. */
export const stepTimeoutMinutes = (handlerTimeoutMs: number): number => Math.min(10_080, Math.ceil(handlerTimeoutMs / 60_000) + 1);

export function createJobsRunner(options: JobsOptions): JobsRunner {
  const { session, log } = options;
  const prefix = `$aws/things/${options.thingName}/jobs`;
  let recordLost = false;
  const saved = readJobsStateOrSetAside(options.stateDir, (error, movedTo) => {
    recordLost = true;
    log.error('jobs state unreadable; moved aside, starting afresh', { reason: error.message, movedTo });
  });
  const store = openJobsStore(options.stateDir, saved.history);
  let last: JobResult | null = saved.history[0] ?? null;
  const machine = createJobsMachine({ now: () => new Date(), startToken: randomBytes(5).toString('hex') });
  const timers = new Set<NodeJS.Timeout>();
  const pending: Partial<Record<RequestKind, { token: string; timer: NodeJS.Timeout }>> = {};
  let stopped = false;
  /** A rotate job switched the identity: the agent restarts once that job is reported. */
  let rotated = false;
  /** Aborted by stop(): a handler or updater still running is ended with the agent (as systemd would end its cgroup). */
  const halt = new AbortController();

  /** Handlers get a small environment of their own, never the agent's (it may hold the PIN). */
  const jobEnv = (jobId: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: options.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    TRUSTLINK_JOB_ID: jobId,
    TRUSTLINK_THING_NAME: options.thingName,
    ...extra,
  });

  const later = (ms: number, work: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) work();
    }, ms);
    timers.add(timer);
  };

  function feed(event: JobsEvent): void {
    if (stopped) return;
    for (const action of machine.handle(event)) perform(action);
  }

  function request(kind: RequestKind, topic: string, body: Record<string, unknown>): void {
    const token = randomBytes(5).toString('hex');
    clearTimeout(pending[kind]?.timer);
    const timer = setTimeout(() => {
      if (pending[kind]?.token !== token) return;
      delete pending[kind];
      feed({ type: 'no-answer', request: kind });
    }, ANSWER_TIMEOUT_MS);
    pending[kind] = { token, timer };
    session.publish(topic, Buffer.from(JSON.stringify({ ...body, clientToken: token })), 1).catch((error: Error) => {
      log.warn('jobs request not published', { topic, reason: error.message });
    });
  }

  /** True when an answer carries the token of the request in flight (other clients' answers are ignored). */
  function answers(kind: RequestKind, body: Record<string, unknown>): boolean {
    const inFlight = pending[kind];
    if (inFlight === undefined || body.clientToken !== inFlight.token) return false;
    clearTimeout(inFlight.timer);
    delete pending[kind];
    return true;
  }

  async function run(job: CurrentJob, plan: Exclude<JobPlan, { kind: 'reboot' }>): Promise<void> {
    const timeoutMs = options.handlerTimeoutMs;
    if (plan.kind === 'handlers') {
      const verdict = await runHandlerSteps(plan.steps, {
        dir: options.handlerDir, timeoutMs, includeStdout: plan.includeStdout, env: jobEnv(job.jobId), signal: halt.signal,
        onStart: (step, pid) => log.info('job handler started', { jobId: job.jobId, handler: step.handler, pid }),
      });
      log.info('job handler ended', { jobId: job.jobId, status: verdict.status, reason: verdict.statusDetails.reason });
      feed({ type: 'finished', jobId: job.jobId, verdict });
      return;
    }
    if (plan.kind === 'rotate') {
      feed({ type: 'finished', jobId: job.jobId, verdict: await rotation() });
      return;
    }
    if (options.updateCommand === undefined) {
      feed({ type: 'finished', jobId: job.jobId, verdict: { status: 'REJECTED', statusDetails: statusDetails({ reason: 'this device has no updater: jobsUpdateCommand is not set' }) } });
      return;
    }
    // The URL goes in the environment, not argv (a presigned URL is a credential) and never to the log.
    const result = await runProcess('/bin/sh', ['-c', options.updateCommand], {
      env: jobEnv(job.jobId, { TRUSTLINK_UPDATE_URL: plan.url }), timeoutMs, signal: halt.signal,
      onStart: (pid) => log.info('updater started', { jobId: job.jobId, pid }),
    });
    const verdict = verdictOfProcess({ ...result, stderr: withoutUrl(result.stderr, plan.url) }, timeoutMs, false);
    if (verdict.status === 'SUCCEEDED') feed({ type: 'installed', jobId: job.jobId });
    else feed({ type: 'finished', jobId: job.jobId, verdict: { status: 'FAILED', statusDetails: statusDetails({ ...verdict.statusDetails, reason: `the updater failed: ${verdict.statusDetails.reason}` }) } });
  }

  async function rotation(): Promise<Verdict> {
    if (options.rotate === undefined) return { status: 'REJECTED', statusDetails: statusDetails({ reason: 'this device cannot rotate its identity: auth is not mtls' }) };
    try {
      const { certificateId, oldCertificateId } = await options.rotate();
      rotated = true;
      // The old certificate's ID is for the cloud side, which deactivates it (docs/rotation.md).
      return { status: 'SUCCEEDED', statusDetails: statusDetails({ reason: 'rotated; the agent restarts on the new identity', certificateId, oldCertificateId }) };
    } catch (error) {
      return { status: 'FAILED', statusDetails: statusDetails({ reason: `the rotation failed: ${(error as Error).message}`, code: isTrustlinkError(error) ? error.code : 'INTERNAL' }) };
    }
  }

  async function reboot(job: CurrentJob): Promise<void> {
    log.info('rebooting for a job', { jobId: job.jobId, command: options.rebootCommand });
    const result = await runProcess('/bin/sh', ['-c', options.rebootCommand], { env: jobEnv(job.jobId), timeoutMs: 60_000 });
    const verdict = verdictOfProcess(result, 60_000, false);
    // On success the system takes the agent down; the verdict comes from the next start.
    if (verdict.status !== 'SUCCEEDED') feed({ type: 'finished', jobId: job.jobId, verdict: { status: 'FAILED', statusDetails: statusDetails({ ...verdict.statusDetails, reason: `the reboot command failed: ${verdict.statusDetails.reason}` }) } });
  }

  function checkBootLater(job: CurrentJob, deadline: number): void {
    const reportFile = defaultReportFile(options.env);
    const check = checkBoot(reportFile, job.rebootRequestedAt ?? job.startedAt);
    if (check.ready) {
      feed({ type: 'finished', jobId: job.jobId, verdict: check.verdict });
      return;
    }
    if (Date.now() >= deadline) {
      const verdict: Verdict = { status: 'FAILED', statusDetails: statusDetails({ reason: `no verdict from the boot self-test after the update: ${check.why}` }) };
      feed({ type: 'finished', jobId: job.jobId, verdict });
      return;
    }
    log.info('waiting for the boot self-test report', { jobId: job.jobId, why: check.why });
    later(BOOT_REPORT_POLL_MS, () => checkBootLater(job, deadline));
  }

  function perform(action: JobsAction): void {
    switch (action.type) {
      case 'start-next':
        request('start-next', `${prefix}/start-next`, { statusDetails: action.statusDetails, stepTimeoutInMinutes: stepTimeoutMinutes(options.handlerTimeoutMs) });
        return;
      case 'update':
        request('update', `${prefix}/${action.jobId}/update`, {
          status: action.status, statusDetails: action.statusDetails,
          ...(action.expectedVersion !== undefined ? { expectedVersion: action.expectedVersion } : {}),
          ...(action.executionNumber !== undefined ? { executionNumber: action.executionNumber } : {}),
        });
        return;
      case 'save':
        store.saveCurrent(action.current);
        return;
      case 'record':
        store.record(action.result);
        last = action.result;
        if (rotated) options.onRotated?.();
        return;
      case 'run':
        void run(action.job, action.plan);
        return;
      case 'reboot':
        void reboot(action.job);
        return;
      case 'check-boot':
        checkBootLater(action.job, Date.now() + BOOT_REPORT_WAIT_MS);
        return;
      case 'retry':
        later(action.delayMs, () => feed({ type: 'retry-due', request: action.request }));
        return;
      case 'log':
        log[action.level](action.message, action.fields);
    }
  }

  function onMessage(message: { topic: string; payload: Buffer }): void {
    if (!message.topic.startsWith(`${prefix}/`)) return;
    const rest = message.topic.slice(prefix.length + 1);
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(message.payload.toString('utf8'));
      if (!isObject(parsed)) return;
      body = parsed;
    } catch {
      log.warn('jobs message is not JSON', { topic: message.topic });
      return;
    }
    if (rest === 'notify-next') feed({ type: 'notify-next', execution: execution(body.execution) });
    else if (rest === 'start-next/accepted' && answers('start-next', body)) feed({ type: 'start-next-accepted', execution: execution(body.execution) });
    else if (rest === 'start-next/rejected' && answers('start-next', body)) feed({ type: 'start-next-rejected', rejection: rejection(body) });
    else {
      const update = /^([a-zA-Z0-9_-]+)\/update\/(accepted|rejected)$/.exec(rest);
      if (update === null || !answers('update', body)) return;
      const jobId = update[1] as string;
      feed(update[2] === 'accepted' ? { type: 'update-accepted', jobId } : { type: 'update-rejected', jobId, rejection: rejection(body) });
    }
  }

  const filters = ['notify-next', 'start-next/accepted', 'start-next/rejected', '+/update/accepted', '+/update/rejected'].map((topic) => `${prefix}/${topic}`);
  let subscribed: { stop(): void } | undefined;

  return {
    start() {
      machine.handle({ type: 'resume', current: saved.current, recordLost });
      if (saved.current !== undefined) log.info('job in hand from before the restart', { jobId: saved.current.jobId, phase: saved.current.phase });
      session.on('message', onMessage);
      subscribed = onSubscribed(session, filters, 1, log, () => feed({ type: 'connected' }));
    },
    stop() {
      stopped = true;
      halt.abort();
      subscribed?.stop();
      session.off('message', onMessage);
      for (const timer of timers) clearTimeout(timer);
      for (const inFlight of Object.values(pending)) clearTimeout(inFlight?.timer);
    },
    status: () => ({ current: machine.current() ?? null, last }),
  };
}
