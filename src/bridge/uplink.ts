/**
 * Local publishes on their way to AWS IoT. A QoS 1 message leaves in arrival
 * order, at most MAX_IN_FLIGHT unacknowledged at once (AWS IoT's limit a
 * connection), and the local client's PUBACK waits until AWS IoT acknowledged
 * it or it is fsync'd in the spool; a spooled message is removed only after
 * the upstream PUBACK.
 *
 * Two modes. "live": connected and nothing waits in the spool; a message is
 * sent at once and the local PUBACK carries AWS IoT's answer (so a refusal
 * reaches the client as a reason code). It is spooled only if that answer is
 * late or the link drops before it: a connected gateway writes nothing to
 * its flash for the messages AWS IoT takes at once. "backlog": the spool holds
 * messages that have not gone yet (an outage, a restart, a burst past the
 * in-flight limit); a message is acknowledged locally once fsync'd, and the
 * spool drains oldest first until it is empty, when live mode resumes.
 */
import type { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import type { MqttSession } from '../connection/mqtt.js';
import type { Spool, SpooledMessage, SpoolRecord } from '../spool/index.js';
import { REASON, type LocalMessage } from './local-client.js';
import type { BridgeCounters } from './counters.js';
import { OncePerInterval } from './once-per-interval.js';

/** AWS IoT keeps at most 100 unacknowledged QoS 1 publishes a connection in flight. */
export const MAX_IN_FLIGHT = 100;
/** AWS IoT refuses payloads over 128 KB. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;
/** How long a live message waits for AWS IoT's answer before it is spooled (and acknowledged once on disk). */
const LIVE_ACK_WAIT_MS = 1_000;

type SpoolId = SpooledMessage['id'];

/** What came of one upstream publish: whether the spool may forget it. */
interface UpstreamOutcome {
  reasonCode: number;
  done: boolean;
}

/** A message sent at once, not (yet) in the spool. */
interface LiveMessage {
  record: SpoolRecord;
  /** Set once the message is on its way into the spool: AWS IoT's answer was late, or the link dropped. */
  spooled?: Promise<SpooledMessage | undefined>;
  /** Why the spool refused it: the client hears this if AWS IoT does not take the message either. */
  refusal?: number;
  /** AWS IoT's answer, once it came. */
  outcome?: UpstreamOutcome;
  answer(reasonCode: number): void;
}

export class Uplink {
  readonly #session: MqttSession;
  readonly #spool: Spool;
  readonly #log: Logger;
  readonly #counters: BridgeCounters;
  readonly #fullLog = new OncePerInterval(60_000);
  readonly #refusedLog = new OncePerInterval(60_000);
  readonly #tooLargeLog = new OncePerInterval(60_000);
  #mode: 'live' | 'backlog' = 'backlog';
  #inFlight = 0;
  /** The last spool id handed upstream: peek() continues after it. */
  #cursor: SpoolId | undefined;
  /** Spool ids upstream has and not yet acknowledged, so a peek does not send them twice. */
  readonly #sent = new Set<SpoolId>();
  #backlogAppends = 0;
  /** Live messages on their way into the spool: until their ids are known, a peek could send them twice. */
  #liveAppends = 0;
  /** Live messages not yet answered by AWS IoT, in arrival order. */
  readonly #live = new Set<LiveMessage>();
  #stopping = false;
  #pumping = false;

  constructor(session: MqttSession, spool: Spool, log: Logger, counters: BridgeCounters) {
    this.#session = session;
    this.#spool = spool;
    this.#log = log;
    this.#counters = counters;
  }

  readonly onConnected = (): void => this.#pump();

  /** Live messages go into the spool ahead of anything published from now on: arrival order holds. */
  readonly onDisconnected = (): void => {
    this.#mode = 'backlog';
    for (const live of this.#live) this.#spoolLive(live);
  };

  /** Resolves to the MQTT 5 reason code for the local client. */
  publish(message: LocalMessage): Promise<number> {
    this.#counters.received++;
    if (message.payload.length > MAX_PAYLOAD_BYTES) {
      this.#counters.refusedTooLarge++;
      this.#tooLargeLog.run(() => this.#log.warn('local publish refused: payload over 128 KB (AWS IoT limit)', { topic: message.topic, bytes: message.payload.length, refusedTooLarge: this.#counters.refusedTooLarge }));
      return Promise.resolve(REASON.packetTooLarge);
    }
    if (message.qos === 0) return this.#publishQos0(message);
    const record: SpoolRecord = { topic: message.topic, payload: message.payload, qos: 1, retain: message.retain };
    if (this.#mode === 'live' && this.#session.isConnected && this.#inFlight < MAX_IN_FLIGHT && !this.#stopping) return this.#sendLive(record);
    this.#mode = 'backlog';
    return this.#appendForLater(record);
  }

  /** Waits for appends in progress; then the spool may close. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const live of this.#live) this.#spoolLive(live);
    while (this.#backlogAppends + this.#liveAppends > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async #publishQos0(message: LocalMessage): Promise<number> {
    if (!this.#session.isConnected) {
      this.#counters.droppedQos0++;
      return REASON.success;
    }
    try {
      await this.#session.publish(message.topic, message.payload, 0, { retain: message.retain });
      this.#counters.forwarded++;
    } catch {
      this.#counters.droppedQos0++;
    }
    return REASON.success;
  }

  async #appendForLater(record: SpoolRecord): Promise<number> {
    // The spool keeps arrival order: live messages not yet answered go in ahead of this one.
    for (const live of this.#live) this.#spoolLive(live);
    this.#backlogAppends++;
    try {
      await this.#spool.append(record);
      return REASON.success;
    } catch (error) {
      return this.#appendFailed(error);
    } finally {
      this.#backlogAppends--;
      this.#pump();
    }
  }

  #appendFailed(error: unknown): number {
    if ((error as TrustlinkError).code === 'SPOOL_FULL') {
      this.#counters.refusedSpoolFull++;
      this.#fullLog.run(() => this.#log.warn('local publish refused: the spool is full', { refusedSpoolFull: this.#counters.refusedSpoolFull, ...this.#spool.stats() }));
      return REASON.quotaExceeded;
    }
    this.#log.error('spool append failed', { reason: (error as Error).message });
    return REASON.unspecified;
  }

  #sendLive(record: SpoolRecord): Promise<number> {
    this.#inFlight++;
    return new Promise<number>((resolve) => {
      let answered = false;
      const live: LiveMessage = {
        record,
        answer: (reasonCode) => {
          if (answered) return;
          answered = true;
          clearTimeout(late);
          resolve(reasonCode);
        },
      };
      const late = setTimeout(() => this.#spoolLive(live), LIVE_ACK_WAIT_MS);
      this.#live.add(live);
      void this.#sendUpstream(record).then(async (outcome) => {
        live.outcome = outcome;
        this.#live.delete(live);
        if (outcome.done) live.answer(outcome.reasonCode);
        else this.#spoolLive(live);
        const message = await live.spooled;
        // Neither delivered nor on disk: the client hears why.
        if (message === undefined) live.answer(live.refusal ?? REASON.unspecified);
        this.#settled(message, outcome);
      });
    });
  }

  /** Appends a live message to the spool (once); its local PUBACK then needs only the fsync. */
  #spoolLive(live: LiveMessage): void {
    if (live.spooled !== undefined) return;
    this.#liveAppends++;
    live.spooled = this.#spool.append(live.record).then((message) => {
      // Unless it failed to go, the spooled copy must not be sent beside the one upstream has.
      if (live.outcome?.done !== false) this.#sent.add(message.id);
      live.answer(REASON.success);
      return message;
    }, (error: unknown) => {
      // A full spool: AWS IoT's answer, if it comes, is what the client hears.
      live.refusal = this.#appendFailed(error);
      return undefined;
    }).finally(() => {
      this.#liveAppends--;
      this.#pump();
    });
  }

  #sendSpooled(message: SpooledMessage): void {
    this.#inFlight++;
    this.#sent.add(message.id);
    void this.#sendUpstream(message).then((outcome) => {
      if (outcome.done) this.#counters.replayed++;
      this.#settled(message, outcome);
    });
  }

  async #sendUpstream(record: SpoolRecord): Promise<UpstreamOutcome> {
    try {
      await this.#session.publish(record.topic, record.payload, 1, { retain: record.retain });
      this.#counters.forwarded++;
      return { reasonCode: REASON.success, done: true };
    } catch (error) {
      const { reasonCode } = error as TrustlinkError;
      // Refused by the broker (a reason code) or by aws-crt's checks while connected: retrying cannot help.
      if (reasonCode !== undefined || (this.#session.isConnected && !this.#stopping)) {
        this.#counters.refusedUpstream++;
        this.#refusedLog.run(() => this.#log.warn('upstream refused a local publish', { topic: record.topic, reason: (error as Error).message, refusedUpstream: this.#counters.refusedUpstream }));
        return { reasonCode: reasonCode ?? REASON.unspecified, done: true };
      }
      // Not sent (link down, stopping): it stays in the spool and goes again from the oldest.
      this.#cursor = undefined;
      this.#mode = 'backlog';
      return { reasonCode: REASON.unspecified, done: false };
    }
  }

  #settled(message: SpooledMessage | undefined, outcome: UpstreamOutcome): void {
    this.#inFlight--;
    if (message !== undefined) {
      this.#sent.delete(message.id);
      if (outcome.done && !this.#stopping) void Promise.resolve(this.#spool.remove(message.id)).catch((error: Error) => this.#log.error('spool remove failed', { reason: error.message }));
    }
    this.#pump();
  }

  /** Sends what waits in the spool, oldest first, while connected and under the in-flight limit. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      // Live messages' spool ids must be known before a peek could return them.
      while (this.#mode === 'backlog' && this.#session.isConnected && !this.#stopping && this.#inFlight < MAX_IN_FLIGHT && this.#liveAppends === 0) {
        const batch = this.#spool.peek(MAX_IN_FLIGHT - this.#inFlight, this.#cursor);
        if (batch.length === 0) {
          if (this.#backlogAppends === 0) this.#mode = 'live';
          return;
        }
        for (const message of batch) {
          this.#cursor = message.id;
          if (!this.#sent.has(message.id)) this.#sendSpooled(message);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}
