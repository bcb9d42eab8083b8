/**
 * The Device Shadow side of the stand-in (aws-facts.md, section 12), for
 * classic and named shadows: get, update (null deletes, versions, 409
 * Version conflict), delete, update/delta and update/documents, the 8 KB and
 * depth limits. `ShadowLogic` is pure and unit-tested; `startShadowStandin`
 * puts it on the test mosquitto as an MQTT client.
 */
import type { Mosquitto } from '../helpers/mosquitto.js';
import type { TestPki } from '../helpers/pki.js';
import { connectStandinClient, type Outgoing } from './mqtt-client.js';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const seconds = (ms: number): number => Math.floor(ms / 1000);

const MAX_STATE_BYTES = 8192;
const MAX_DEPTH = 6;

export interface StoredShadow {
  desired: Json;
  reported: Json;
  version: number;
  metadata: { desired: Json; reported: Json };
}

export interface SeenShadowUpdate {
  thing: string;
  shadow: string;
  request: Json;
  accepted: boolean;
  code?: number;
}

/** Applies `patch` onto `target`: objects merge, null deletes, anything else (arrays too) replaces. */
function merge(target: Json, patch: Json, meta: Json, timestamp: number): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
      delete meta[key];
    } else if (isObject(value)) {
      const inner = isObject(target[key]) ? target[key] : {};
      const innerMeta = isObject(meta[key]) ? meta[key] : {};
      target[key] = inner;
      meta[key] = innerMeta;
      merge(inner, value, innerMeta, timestamp);
      if (Object.keys(inner).length === 0) delete target[key];
    } else {
      target[key] = value;
      meta[key] = { timestamp };
    }
  }
}

/** Every desired key that differs from reported (or is missing there), nested paths kept. */
export function deltaOf(desired: Json, reported: Json): Json {
  const delta: Json = {};
  for (const [key, value] of Object.entries(desired)) {
    const other = reported[key];
    if (isObject(value) && isObject(other)) {
      const inner = deltaOf(value, other);
      if (Object.keys(inner).length > 0) delta[key] = inner;
    } else if (JSON.stringify(value) !== JSON.stringify(other)) {
      delta[key] = value;
    }
  }
  return delta;
}

const depthOf = (value: unknown): number => (isObject(value) ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0);
const hasNullInArray = (value: unknown): boolean =>
  Array.isArray(value) ? value.some((item) => item === null || hasNullInArray(item)) : isObject(value) && Object.values(value).some(hasNullInArray);

export class ShadowLogic {
  readonly shadows = new Map<string, StoredShadow>();
  /** Versions of deleted shadows: a shadow made again continues from them. */
  readonly #versions = new Map<string, number>();
  readonly updates: SeenShadowUpdate[] = [];
  /** Another writer gets in first: the next versioned update finds the version moved on (409). */
  conflictNextUpdate = false;

  static prefix(thing: string, shadow: string | undefined): string {
    return shadow === undefined ? `$aws/things/${thing}/shadow` : `$aws/things/${thing}/shadow/name/${shadow}`;
  }

  #key = (thing: string, shadow: string | undefined): string => `${thing}/${shadow ?? ''}`;

  get(thing: string, shadow: string | undefined): StoredShadow | undefined {
    return this.shadows.get(this.#key(thing, shadow));
  }

  #error(topic: string, code: number, message: string, request: Json, now: number): Outgoing {
    return { topic: `${topic}/rejected`, body: { code, message, timestamp: seconds(now), ...(typeof request.clientToken === 'string' ? { clientToken: request.clientToken } : {}) } };
  }

  #token = (request: Json): Json => (typeof request.clientToken === 'string' ? { clientToken: request.clientToken } : {});

  getShadow(thing: string, shadow: string | undefined, request: Json, now: number): Outgoing[] {
    const topic = `${ShadowLogic.prefix(thing, shadow)}/get`;
    const stored = this.get(thing, shadow);
    if (stored === undefined) return [this.#error(topic, 404, shadow === undefined ? 'No shadow exists with name: ' : `No shadow exists with name: ${shadow}`, request, now)];
    const delta = deltaOf(stored.desired, stored.reported);
    const state: Json = {
      ...(Object.keys(stored.desired).length > 0 ? { desired: stored.desired } : {}),
      ...(Object.keys(stored.reported).length > 0 ? { reported: stored.reported } : {}),
      ...(Object.keys(delta).length > 0 ? { delta } : {}),
    };
    return [{ topic: `${topic}/accepted`, body: { state, metadata: stored.metadata, version: stored.version, timestamp: seconds(now), ...this.#token(request) } }];
  }

  update(thing: string, shadow: string | undefined, request: Json, now: number): Outgoing[] {
    const prefix = ShadowLogic.prefix(thing, shadow);
    const topic = `${prefix}/update`;
    const fail = (code: number, message: string): Outgoing[] => {
      this.updates.push({ thing, shadow: shadow ?? '', request, accepted: false, code });
      return [this.#error(topic, code, message, request, now)];
    };
    if (typeof request.clientToken === 'string' && Buffer.byteLength(request.clientToken) > 64) return fail(400, 'Invalid clientToken');
    if (!('state' in request)) return fail(400, 'Missing required node: state');
    const state = request.state;
    if (!isObject(state)) return fail(400, 'State node must be an object');
    if (state.desired !== undefined && state.desired !== null && !isObject(state.desired)) return fail(400, 'Desired node must be an object');
    if (state.reported !== undefined && state.reported !== null && !isObject(state.reported)) return fail(400, 'Reported node must be an object');
    if (Object.keys(state).some((key) => key !== 'desired' && key !== 'reported')) return fail(400, 'State contains an invalid node');
    if (depthOf(state) > MAX_DEPTH + 1) return fail(400, `JSON contains too many levels of nesting; maximum is ${MAX_DEPTH}`);
    if (hasNullInArray(state)) return fail(400, 'State contains an invalid node');
    if (request.version !== undefined && (typeof request.version !== 'number' || !Number.isInteger(request.version))) return fail(400, 'Invalid version');
    const key = this.#key(thing, shadow);
    if (this.conflictNextUpdate && request.version !== undefined) {
      this.conflictNextUpdate = false;
      this.bumpVersion(thing, shadow);
    }
    const before = this.shadows.get(key);
    if (request.version !== undefined && request.version !== (before?.version ?? this.#versions.get(key) ?? 0)) return fail(409, 'Version conflict');

    const after: StoredShadow = structuredClone(before) ?? { desired: {}, reported: {}, version: this.#versions.get(key) ?? 0, metadata: { desired: {}, reported: {} } };
    const timestamp = seconds(now);
    for (const section of ['desired', 'reported'] as const) {
      const patch = state[section];
      if (patch === null) {
        after[section] = {};
        after.metadata[section] = {};
      } else if (isObject(patch)) {
        merge(after[section], patch, after.metadata[section], timestamp);
      }
    }
    if (Buffer.byteLength(JSON.stringify({ desired: after.desired, reported: after.reported })) > MAX_STATE_BYTES) return fail(413, 'The payload exceeds the maximum size allowed');
    after.version++;
    this.shadows.set(key, after);
    this.#versions.set(key, after.version);
    this.updates.push({ thing, shadow: shadow ?? '', request, accepted: true });

    const out: Outgoing[] = [{ topic: `${topic}/accepted`, body: { state, metadata: after.metadata, version: after.version, timestamp, ...this.#token(request) } }];
    const delta = deltaOf(after.desired, after.reported);
    if (state.desired !== undefined && Object.keys(delta).length > 0) {
      out.push({ topic: `${topic}/delta`, body: { state: delta, metadata: after.metadata.desired, version: after.version, timestamp } });
    }
    const document = (shadowState: StoredShadow | undefined): Json => ({ state: { desired: shadowState?.desired ?? {}, reported: shadowState?.reported ?? {} }, metadata: shadowState?.metadata ?? {}, version: shadowState?.version ?? 0 });
    out.push({ topic: `${topic}/documents`, body: { previous: document(before), current: document(after), timestamp } });
    return out;
  }

  deleteShadow(thing: string, shadow: string | undefined, request: Json, now: number): Outgoing[] {
    const topic = `${ShadowLogic.prefix(thing, shadow)}/delete`;
    const key = this.#key(thing, shadow);
    const stored = this.shadows.get(key);
    if (stored === undefined) return [this.#error(topic, 404, `No shadow exists with name: ${shadow ?? ''}`, request, now)];
    this.shadows.delete(key);
    return [{ topic: `${topic}/accepted`, body: { version: stored.version, timestamp: seconds(now), ...this.#token(request) } }];
  }

  /** Someone else (another app) changed the shadow: only its version moves, as after a write with no visible change to us. */
  bumpVersion(thing: string, shadow: string | undefined): void {
    const stored = this.get(thing, shadow);
    if (stored !== undefined) this.#versions.set(this.#key(thing, shadow), ++stored.version);
  }

  route(topic: string, payload: Buffer, now: number): Outgoing[] | undefined {
    const match = /^\$aws\/things\/([^/]+)\/shadow(?:\/name\/([^/]+))?\/(get|update|delete)$/.exec(topic);
    if (match === null) return undefined;
    const [, thing, shadow, operation] = match as unknown as [string, string, string | undefined, string];
    let request: Json = {};
    if (operation === 'update' || payload.length > 0) {
      try {
        const parsed: unknown = JSON.parse(payload.toString('utf8'));
        if (!isObject(parsed)) throw new Error('not an object');
        request = parsed;
      } catch {
        // get and delete ignore their payload.
        if (operation === 'update') return [this.#error(`${ShadowLogic.prefix(thing, shadow)}/update`, 400, 'Invalid JSON', {}, now)];
      }
    }
    if (operation === 'get') return this.getShadow(thing, shadow, request, now);
    if (operation === 'delete') return this.deleteShadow(thing, shadow, request, now);
    return this.update(thing, shadow, request, now);
  }
}

export interface ShadowStandin {
  logic: ShadowLogic;
  /** An update as the cloud side sends it (the console, an app). */
  update(thing: string, shadow: string | undefined, request: Json): Promise<void>;
  /** Waits until the stored shadow satisfies `predicate`. */
  waitFor(thing: string, shadow: string | undefined, what: string, predicate: (shadow: StoredShadow) => boolean, timeoutMs?: number): Promise<StoredShadow>;
  stop(): Promise<void>;
}

export async function startShadowStandin(options: { dir: string; pki: TestPki; broker: Mosquitto }): Promise<ShadowStandin> {
  const logic = new ShadowLogic();
  const client = await connectStandinClient(options.dir, options.pki, options.broker, 'shadow-standin');
  const handle = (topic: string, payload: Buffer): Outgoing[] => logic.route(topic, payload, Date.now()) ?? [];
  // Not shadow/#: only the three request topics, as AWS advises devices too.
  for (const filter of ['$aws/things/+/shadow/+', '$aws/things/+/shadow/name/+/+']) await client.subscribe(filter, handle);
  return {
    logic,
    update: (thing, shadow, request) => client.publish(logic.update(thing, shadow, request, Date.now())),
    async waitFor(thing, shadow, what, predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const stored = logic.get(thing, shadow);
        if (stored !== undefined && predicate(stored)) return stored;
        if (Date.now() > deadline) throw new Error(`shadow ${thing}/${shadow ?? ''}: timed out waiting for ${what}; it is ${JSON.stringify(stored)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async stop() {
      await client.stop();
    },
  };
}
