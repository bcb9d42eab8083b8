/**
 * The AWS IoT Jobs side of the stand-in (aws-facts.md, section 10): queued
 * executions per thing, notify-next when the next job changes, start-next,
 * describe, get-pending, update with versions and the documented
 * rejections, and step timeouts (TIMED_OUT). `JobsLogic` is pure (time is
 * passed in) and unit-tested; `startJobsStandin` puts it on the test
 * mosquitto as an MQTT client.
 */
import type { Mosquitto } from '../helpers/mosquitto.js';
import type { TestPki } from '../helpers/pki.js';
import { connectStandinClient, type Outgoing } from './mqtt-client.js';

export type ExecutionStatus = 'QUEUED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'REJECTED' | 'REMOVED' | 'CANCELED';

export interface StoredExecution {
  jobId: string;
  thingName: string;
  jobDocument: unknown;
  status: ExecutionStatus;
  statusDetails: Record<string, string>;
  queuedAt: number;
  startedAt?: number;
  lastUpdatedAt: number;
  versionNumber: number;
  executionNumber: number;
  /** When the step timer runs out (ms), if one runs. */
  stepDeadline?: number;
}

/** An update request as seen, with the answer it got: tests look at these. */
export interface SeenUpdate {
  jobId: string;
  at: number;
  request: Record<string, unknown>;
  accepted: boolean;
  code?: string;
}

const TERMINAL = new Set<ExecutionStatus>(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED']);
const DEVICE_SETS = new Set(['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED']);
const DETAIL_KEY = /^[a-zA-Z0-9:_-]{1,128}$/;
const DETAIL_VALUE = /^[^\p{C}]{1,1024}$/u;

const seconds = (ms: number): number => Math.floor(ms / 1000);
type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface JobsLogicOptions {
  /** How long a "minute" of stepTimeoutInMinutes lasts here, so tests need not wait minutes. */
  minuteMs?: number;
}

export class JobsLogic {
  readonly executions = new Map<string, StoredExecution[]>();
  readonly updates: SeenUpdate[] = [];
  /** How long a "minute" of stepTimeoutInMinutes lasts; tests shorten it. */
  minuteMs: number;
  readonly #notified = new Map<string, string | undefined>();

  constructor(options: JobsLogicOptions = {}) {
    this.minuteMs = options.minuteMs ?? 60_000;
  }

  #list(thing: string): StoredExecution[] {
    let list = this.executions.get(thing);
    if (list === undefined) {
      list = [];
      this.executions.set(thing, list);
    }
    return list;
  }

  find(thing: string, jobId: string): StoredExecution | undefined {
    return this.#list(thing).find((execution) => execution.jobId === jobId);
  }

  /** In progress first, then queued, oldest first. */
  #next(thing: string): StoredExecution | undefined {
    const list = this.#list(thing);
    return list.find((execution) => execution.status === 'IN_PROGRESS') ?? list.find((execution) => execution.status === 'QUEUED');
  }

  #prefix = (thing: string): string => `$aws/things/${thing}/jobs`;

  #full(execution: StoredExecution): Json {
    const { stepDeadline: _deadline, queuedAt, startedAt, lastUpdatedAt, ...rest } = execution;
    return { ...rest, queuedAt: seconds(queuedAt), ...(startedAt !== undefined ? { startedAt: seconds(startedAt) } : {}), lastUpdatedAt: seconds(lastUpdatedAt) };
  }

  #state(execution: StoredExecution): Json {
    return { status: execution.status, statusDetails: execution.statusDetails, versionNumber: execution.versionNumber };
  }

  /** notify-next, when the next job is another than the one last announced. */
  #notifyNext(thing: string, now: number): Outgoing[] {
    const next = this.#next(thing);
    const key = next && `${next.jobId}#${next.executionNumber}`;
    if (this.#notified.get(thing) === key) return [];
    this.#notified.set(thing, key);
    return [{ topic: `${this.#prefix(thing)}/notify-next`, body: { timestamp: seconds(now), ...(next !== undefined ? { execution: this.#full(next) } : {}) } }];
  }

  #answer(topic: string, accepted: boolean, body: Json, request: Json, now: number): Outgoing {
    return {
      topic: `${topic}/${accepted ? 'accepted' : 'rejected'}`,
      body: { ...body, timestamp: seconds(now), ...(typeof request.clientToken === 'string' ? { clientToken: request.clientToken } : {}) },
    };
  }

  #reject(topic: string, code: string, message: string, request: Json, now: number, execution?: StoredExecution): Outgoing {
    return this.#answer(topic, false, { code, message, ...(execution !== undefined ? { executionState: this.#state(execution) } : {}) }, request, now);
  }

  queue(thing: string, jobId: string, jobDocument: unknown, now: number): Outgoing[] {
    const list = this.#list(thing);
    const executionNumber = list.filter((execution) => execution.jobId === jobId).length + 1;
    list.push({ jobId, thingName: thing, jobDocument, status: 'QUEUED', statusDetails: {}, queuedAt: now, lastUpdatedAt: now, versionNumber: 1, executionNumber });
    return this.#notifyNext(thing, now);
  }

  /** What the operator does from the console: CANCELED (a terminal state the device cannot leave). */
  cancel(thing: string, jobId: string, now: number): Outgoing[] {
    const execution = this.find(thing, jobId);
    if (execution === undefined || TERMINAL.has(execution.status)) return [];
    Object.assign(execution, { status: 'CANCELED', lastUpdatedAt: now, versionNumber: execution.versionNumber + 1, stepDeadline: undefined });
    return this.#notifyNext(thing, now);
  }

  #stepTimeout(request: Json): number | undefined | 'invalid' {
    const minutes = request.stepTimeoutInMinutes;
    if (minutes === undefined) return undefined;
    return typeof minutes === 'number' && Number.isInteger(minutes) && minutes >= 1 && minutes <= 10_080 ? minutes : 'invalid';
  }

  #detailsProblem(details: unknown): string | undefined {
    if (details === undefined) return undefined;
    if (!isObject(details)) return 'statusDetails must be an object of strings';
    for (const [key, value] of Object.entries(details)) {
      if (!DETAIL_KEY.test(key)) return `statusDetails key "${key}" is invalid`;
      if (typeof value !== 'string' || !DETAIL_VALUE.test(value)) return `statusDetails value of "${key}" is invalid (1-1024 characters, no control characters)`;
    }
    return undefined;
  }

  startNext(thing: string, request: Json, now: number): Outgoing[] {
    const topic = `${this.#prefix(thing)}/start-next`;
    const timeout = this.#stepTimeout(request);
    const problem = timeout === 'invalid' ? 'stepTimeoutInMinutes must be 1-10080' : this.#detailsProblem(request.statusDetails);
    if (problem !== undefined) return [this.#reject(topic, 'InvalidRequest', problem, request, now)];
    const next = this.#next(thing);
    if (next === undefined) return [this.#answer(topic, true, {}, request, now)];
    if (next.status === 'QUEUED') {
      Object.assign(next, {
        status: 'IN_PROGRESS', startedAt: now, lastUpdatedAt: now, versionNumber: next.versionNumber + 1,
        statusDetails: (request.statusDetails as Record<string, string> | undefined) ?? next.statusDetails,
        ...(timeout !== undefined ? { stepDeadline: now + (timeout as number) * this.minuteMs } : {}),
      });
    }
    return [this.#answer(topic, true, { execution: this.#full(next) }, request, now), ...this.#notifyNext(thing, now)];
  }

  describe(thing: string, jobId: string, request: Json, now: number): Outgoing[] {
    const topic = `${this.#prefix(thing)}/${jobId}/get`;
    const execution = jobId === '$next' ? this.#next(thing) : this.find(thing, jobId);
    if (execution === undefined) return [this.#reject(topic, 'ResourceNotFound', `Job execution ${jobId} not found`, request, now)];
    if (TERMINAL.has(execution.status)) return [this.#reject(topic, 'TerminalStateReached', `Job execution ${jobId} is in a terminal state`, request, now)];
    const full = this.#full(execution);
    if (request.includeJobDocument === false) delete full.jobDocument;
    return [this.#answer(topic, true, { execution: full }, request, now)];
  }

  getPending(thing: string, request: Json, now: number): Outgoing[] {
    const summary = (execution: StoredExecution): Json => {
      const { jobDocument: _document, status: _status, statusDetails: _details, thingName: _thing, ...rest } = this.#full(execution);
      return rest;
    };
    const list = this.#list(thing);
    return [this.#answer(`${this.#prefix(thing)}/get`, true, {
      inProgressJobs: list.filter((execution) => execution.status === 'IN_PROGRESS').map(summary),
      queuedJobs: list.filter((execution) => execution.status === 'QUEUED').map(summary),
    }, request, now)];
  }

  update(thing: string, jobId: string, request: Json, now: number): Outgoing[] {
    const topic = `${this.#prefix(thing)}/${jobId}/update`;
    const execution = this.find(thing, jobId);
    const seen = (accepted: boolean, code?: string): void => void this.updates.push({ jobId, at: now, request, accepted, ...(code !== undefined ? { code } : {}) });
    const reject = (code: string, message: string, withState = false): Outgoing[] => {
      seen(false, code);
      return [this.#reject(topic, code, message, request, now, withState ? execution : undefined)];
    };
    const timeout = this.#stepTimeout(request);
    if (typeof request.status !== 'string' || !DEVICE_SETS.has(request.status)) return reject('InvalidRequest', `status must be one of ${[...DEVICE_SETS].join(', ')}`);
    const problem = timeout === 'invalid' ? 'stepTimeoutInMinutes must be 1-10080' : this.#detailsProblem(request.statusDetails);
    if (problem !== undefined) return reject('InvalidRequest', problem);
    if (execution === undefined) return reject('ResourceNotFound', `Job execution ${jobId} not found`);
    if (TERMINAL.has(execution.status)) return reject('InvalidStateTransition', `Job execution ${jobId} is ${execution.status}, a terminal state`, true);
    if (request.expectedVersion !== undefined && request.expectedVersion !== execution.versionNumber) {
      return reject('VersionMismatch', `expected version ${String(request.expectedVersion)}, current version ${execution.versionNumber}`, true);
    }
    Object.assign(execution, {
      status: request.status, lastUpdatedAt: now, versionNumber: execution.versionNumber + 1,
      statusDetails: (request.statusDetails as Record<string, string> | undefined) ?? execution.statusDetails,
      ...(execution.startedAt === undefined && request.status === 'IN_PROGRESS' ? { startedAt: now } : {}),
      stepDeadline: TERMINAL.has(request.status as ExecutionStatus) ? undefined : timeout !== undefined ? now + (timeout as number) * this.minuteMs : execution.stepDeadline,
    });
    seen(true);
    const body: Json = {
      ...(request.includeJobExecutionState === true ? { executionState: this.#state(execution) } : {}),
      ...(request.includeJobDocument === true ? { jobDocument: execution.jobDocument } : {}),
    };
    return [this.#answer(topic, true, body, request, now), ...this.#notifyNext(thing, now)];
  }

  /** Step timers that ran out: TIMED_OUT, and the next job announced. */
  tick(now: number): Outgoing[] {
    const out: Outgoing[] = [];
    for (const [thing, list] of this.executions) {
      let changed = false;
      for (const execution of list) {
        if (execution.status !== 'IN_PROGRESS' || execution.stepDeadline === undefined || execution.stepDeadline > now) continue;
        Object.assign(execution, { status: 'TIMED_OUT', lastUpdatedAt: now, versionNumber: execution.versionNumber + 1, stepDeadline: undefined });
        changed = true;
      }
      if (changed) out.push(...this.#notifyNext(thing, now));
    }
    return out;
  }

  /** Routes one request topic; undefined when the topic is not a Jobs API topic. */
  route(topic: string, payload: Buffer, now: number): Outgoing[] | undefined {
    const match = /^\$aws\/things\/([^/]+)\/jobs\/(.+)$/.exec(topic);
    if (match === null) return undefined;
    const [, thing, rest] = match as unknown as [string, string, string];
    if (/\/(accepted|rejected)$/.test(rest) || rest === 'notify' || rest === 'notify-next') return undefined;
    let request: Json;
    try {
      const parsed: unknown = payload.length === 0 ? {} : JSON.parse(payload.toString('utf8'));
      if (!isObject(parsed)) throw new Error('not an object');
      request = parsed;
    } catch {
      return [this.#reject(`${this.#prefix(thing)}/${rest}`, 'InvalidJson', 'The request is not a JSON object', {}, now)];
    }
    if (rest === 'start-next') return this.startNext(thing, request, now);
    if (rest === 'get') return this.getPending(thing, request, now);
    const job = /^([^/]+)\/(get|update)$/.exec(rest);
    if (job === null) return [this.#reject(`${this.#prefix(thing)}/${rest}`, 'InvalidTopic', `${topic} is not a Jobs topic`, request, now)];
    return job[2] === 'get' ? this.describe(thing, job[1] as string, request, now) : this.update(thing, job[1] as string, request, now);
  }
}

export interface JobsStandin {
  logic: JobsLogic;
  queue(thing: string, jobId: string, document: unknown): Promise<void>;
  cancel(thing: string, jobId: string): Promise<void>;
  /** Resolves once the execution reaches one of `statuses`; rejects after timeoutMs. */
  waitFor(thing: string, jobId: string, statuses: ExecutionStatus[], timeoutMs?: number): Promise<StoredExecution>;
  stop(): Promise<void>;
}

/** The stand-in's client name, for brokers with an ACL. */
export const JOBS_STANDIN_CN = 'jobs-standin';

export async function startJobsStandin(options: { dir: string; pki: TestPki; broker: Mosquitto; minuteMs?: number }): Promise<JobsStandin> {
  const logic = new JobsLogic({ minuteMs: options.minuteMs });
  const client = await connectStandinClient(options.dir, options.pki, options.broker, JOBS_STANDIN_CN);
  await client.subscribe('$aws/things/+/jobs/#', (topic, payload) => logic.route(topic, payload, Date.now()) ?? []);
  const ticker = setInterval(() => {
    const due = logic.tick(Date.now());
    if (due.length > 0) void client.publish(due).catch(() => undefined);
  }, 100);
  return {
    logic,
    queue: (thing, jobId, document) => client.publish(logic.queue(thing, jobId, document, Date.now())),
    cancel: (thing, jobId) => client.publish(logic.cancel(thing, jobId, Date.now())),
    async waitFor(thing, jobId, statuses, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const execution = logic.find(thing, jobId);
        if (execution !== undefined && statuses.includes(execution.status)) return execution;
        if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach ${statuses.join('/')}; it is ${execution?.status ?? 'unknown'}; updates: ${JSON.stringify(logic.updates)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async stop() {
      clearInterval(ticker);
      await client.stop();
    },
  };
}
