/**
 * The agent's named shadow over MQTT: get on connect, reported facts at
 * most once a minute, allowlisted desired settings applied live and
 * acknowledged in reported (which clears them from the delta), other desired
 * keys ignored and named once. Updates carry the version last seen; a 409
 * Version conflict is answered as AWS documents: get the shadow, send again.
 */
import { randomBytes } from 'node:crypto';
import type { MqttSession } from '../connection/mqtt.js';
import { onSubscribed } from '../jobs/subscribe-then.js';
import type { Logger } from '../log/log.js';
import { sortDesired, type DesiredSettings } from './desired.js';
import { reportDelay, type DeviceFacts } from './reported.js';

const ANSWER_TIMEOUT_MS = 10_000;
/** How often the facts are looked at for changes (reading two small files). */
const FACTS_CHECK_MS = 10_000;
const MAX_CONFLICT_RETRIES = 5;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface ShadowOptions {
  session: MqttSession;
  thingName: string;
  shadowName: string;
  log: Logger;
  facts(): DeviceFacts;
  /** The allowlisted settings as they are now (reported with the facts). */
  settings(): Required<DesiredSettings>;
  apply(settings: DesiredSettings): void;
  minReportIntervalMs?: number;
}

export interface ShadowRunner {
  start(): void;
  stop(): void;
}

/** Merges reported patches: a later value wins, nested objects merge. */
function mergeInto(target: Json, patch: Json): Json {
  for (const [key, value] of Object.entries(patch)) {
    target[key] = isObject(value) && isObject(target[key]) ? mergeInto({ ...(target[key] as Json) }, value) : value;
  }
  return target;
}

export function createShadowRunner(options: ShadowOptions): ShadowRunner {
  const { session, log } = options;
  const prefix = `$aws/things/${options.thingName}/shadow/name/${options.shadowName}`;
  let version: number | undefined;
  /** Reported changes not yet sent, and the one in flight. */
  let outbox: Json | undefined;
  let inFlight: { token: string; patch: Json; timer: NodeJS.Timeout } | undefined;
  let getToken: string | undefined;
  let getTimer: NodeJS.Timeout | undefined;
  let conflicts = 0;
  let lastFacts: string | undefined;
  let lastReportedAt: number | undefined;
  let ignoredSaid = '[]';
  let factsTimer: NodeJS.Timeout | undefined;
  let dueTimer: NodeJS.Timeout | undefined;
  let connected = false;

  function publish(topic: string, body: Json): void {
    session.publish(topic, Buffer.from(JSON.stringify(body)), 1).catch((error: Error) => log.warn('shadow request not published', { topic, reason: error.message }));
  }

  function requestGet(): void {
    const token = randomBytes(5).toString('hex');
    getToken = token;
    publish(`${prefix}/get`, { clientToken: token });
    clearTimeout(getTimer);
    getTimer = setTimeout(() => {
      if (getToken === token && connected) requestGet();
    }, ANSWER_TIMEOUT_MS);
  }

  function flush(): void {
    if (!connected || inFlight !== undefined || outbox === undefined || getToken !== undefined) return;
    const patch = outbox;
    outbox = undefined;
    const token = randomBytes(5).toString('hex');
    const timer = setTimeout(() => {
      if (inFlight?.token !== token) return;
      log.warn('no answer to a shadow update; sending again', { shadow: options.shadowName });
      requeue();
      flush();
    }, ANSWER_TIMEOUT_MS);
    inFlight = { token, patch, timer };
    publish(`${prefix}/update`, { state: { reported: patch }, clientToken: token, ...(version !== undefined ? { version } : {}) });
  }

  /** The patch in flight goes back under anything queued since (newer values win). */
  function requeue(): void {
    if (inFlight === undefined) return;
    clearTimeout(inFlight.timer);
    outbox = mergeInto({ ...inFlight.patch }, outbox ?? {});
    inFlight = undefined;
  }

  function report(patch: Json): void {
    outbox = mergeInto(outbox ?? {}, patch);
    flush();
  }

  /** Facts changed since the last report (or none sent yet): report them, at most once a minute. */
  function checkFacts(): void {
    const facts = { ...options.facts(), ...options.settings() };
    const text = JSON.stringify(facts);
    if (text === lastFacts) return;
    const delay = reportDelay(lastReportedAt, Date.now(), options.minReportIntervalMs);
    if (delay > 0) {
      if (dueTimer === undefined) dueTimer = setTimeout(() => {
        dueTimer = undefined;
        checkFacts();
      }, delay);
      return;
    }
    lastFacts = text;
    lastReportedAt = Date.now();
    report(facts as unknown as Json);
  }

  function onDesired(delta: Json): void {
    const { apply, ignored } = sortDesired(delta);
    if (Object.keys(apply).length > 0) {
      options.apply(apply);
      log.info('shadow settings applied', { shadow: options.shadowName, ...apply });
    }
    const ignoredKeys = Object.keys(ignored).sort();
    const said = JSON.stringify(ignoredKeys);
    const patch: Json = { ...apply };
    // Said once: the same ignored keys in the next delta change nothing in reported.
    if (said !== ignoredSaid) {
      ignoredSaid = said;
      patch.ignoredDesired = ignoredKeys.length > 0 ? ignored : null;
      if (ignoredKeys.length > 0) log.warn('shadow desired keys ignored', { shadow: options.shadowName, ignored });
    }
    // Acknowledged at once, not held to the once-a-minute facts: an operator waits for it.
    if (Object.keys(patch).length > 0) report(patch);
  }

  function onMessage(message: { topic: string; payload: Buffer }): void {
    if (!message.topic.startsWith(`${prefix}/`)) return;
    const rest = message.topic.slice(prefix.length + 1);
    let body: Json;
    try {
      const parsed: unknown = JSON.parse(message.payload.toString('utf8'));
      if (!isObject(parsed)) return;
      body = parsed;
    } catch {
      return;
    }
    const bodyVersion = typeof body.version === 'number' ? body.version : undefined;
    if (rest === 'update/delta') {
      if (bodyVersion !== undefined) version = bodyVersion;
      if (isObject(body.state)) onDesired(body.state);
    } else if ((rest === 'get/accepted' || rest === 'get/rejected') && body.clientToken === getToken && getToken !== undefined) {
      getToken = undefined;
      if (rest === 'get/accepted') {
        version = bodyVersion;
        const state = isObject(body.state) ? body.state : {};
        if (isObject(state.delta)) onDesired(state.delta);
      } else if (body.code === 404) {
        version = undefined;
      } else {
        log.warn('shadow get refused', { shadow: options.shadowName, code: body.code, message: body.message });
      }
      checkFacts();
      flush();
    } else if (rest === 'update/accepted' && inFlight !== undefined && inFlight.token === body.clientToken) {
      clearTimeout(inFlight.timer);
      inFlight = undefined;
      conflicts = 0;
      if (bodyVersion !== undefined) version = bodyVersion;
      flush();
    } else if (rest === 'update/rejected' && inFlight !== undefined && inFlight.token === body.clientToken) {
      requeue();
      if (body.code === 409 && conflicts++ < MAX_CONFLICT_RETRIES) {
        log.info('shadow version conflict; getting the shadow and sending again', { shadow: options.shadowName, version });
        requestGet();
        return;
      }
      log.warn('shadow update refused', { shadow: options.shadowName, code: body.code, message: body.message });
      outbox = undefined;
      conflicts = 0;
    }
  }

  const filters = ['get/accepted', 'get/rejected', 'update/accepted', 'update/rejected', 'update/delta'].map((topic) => `${prefix}/${topic}`);
  let subscribed: { stop(): void } | undefined;
  const onDisconnected = (): void => {
    connected = false;
    requeue();
    getToken = undefined;
  };

  return {
    start() {
      session.on('message', onMessage).on('disconnected', onDisconnected);
      subscribed = onSubscribed(session, filters, 1, log, () => {
        connected = true;
        requestGet();
      });
      factsTimer = setInterval(() => {
        if (connected && getToken === undefined) checkFacts();
      }, FACTS_CHECK_MS);
    },
    stop() {
      subscribed?.stop();
      session.off('message', onMessage).off('disconnected', onDisconnected);
      clearInterval(factsTimer);
      clearTimeout(dueTimer);
      clearTimeout(getTimer);
      if (inFlight !== undefined) clearTimeout(inFlight.timer);
    },
  };
}
