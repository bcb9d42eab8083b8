/**
 * Local subscriptions and what they hold upstream. Each local filter is
 * counted: the first local subscriber makes the agent subscribe upstream, the
 * last to leave unsubscribes. A filter that another local filter covers
 * (dt/thing-1/+ under dt/#) is not subscribed upstream on its own, so the
 * broker sends a message once, and each local client receives it once,
 * however many of its own or other clients' filters overlap. Messages from
 * upstream go to every local client with a matching filter.
 */
import type { MqttSession } from '../connection/mqtt.js';
import type { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import type { BridgeCounters } from './counters.js';
import { REASON, type LocalClient, type LocalMessage, type QoS } from './local-client.js';
import { topicMatches } from '../topics/topics.js';
import { covers } from './topic-filter.js';

/** The filters worth an upstream subscription: those no other filter covers. */
export function upstreamFilters(filters: Iterable<string>): Set<string> {
  const all = [...new Set(filters)];
  return new Set(all.filter((filter) => !all.some((other) => other !== filter && covers(other, filter))));
}

export class Downlink {
  readonly #session: MqttSession;
  readonly #log: Logger;
  readonly #counters: BridgeCounters;
  /** Local filter → the clients holding it. */
  readonly #local = new Map<string, Set<LocalClient>>();
  /** Filters this bridge holds a session reference for. */
  readonly #upstream = new Set<string>();
  /** Changes run one at a time: each one reads the result of the last. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(session: MqttSession, log: Logger, counters: BridgeCounters) {
    this.#session = session;
    this.#log = log;
    this.#counters = counters;
  }

  get upstream(): string[] {
    return [...this.#upstream];
  }

  subscribe(client: LocalClient, filter: string, qos: QoS): Promise<number> {
    return this.#serial(async () => {
      const holders = this.#local.get(filter);
      if (holders === undefined) {
        try {
          await this.#apply(upstreamFilters([...this.#local.keys(), filter]), true);
        } catch (error) {
          this.#log.warn('upstream refused a local subscription', { filter, clientId: client.id, reason: (error as Error).message });
          return (error as TrustlinkError).reasonCode ?? REASON.unspecified;
        }
        this.#local.set(filter, new Set([client]));
      } else {
        holders.add(client);
      }
      client.subscriptions.set(filter, qos);
      return qos;
    });
  }

  unsubscribe(client: LocalClient, filter: string): Promise<number> {
    return this.#serial(async () => {
      client.subscriptions.delete(filter);
      const holders = this.#local.get(filter);
      if (holders === undefined || !holders.delete(client)) return REASON.noSubscriptionExisted;
      if (holders.size === 0) {
        this.#local.delete(filter);
        await this.#apply(upstreamFilters(this.#local.keys()), false);
      }
      return REASON.success;
    });
  }

  /** A local client left: its subscriptions go with it. */
  async dropClient(client: LocalClient): Promise<void> {
    for (const filter of [...client.subscriptions.keys()]) await this.unsubscribe(client, filter);
  }

  deliver(clients: Iterable<LocalClient>, message: LocalMessage): void {
    for (const client of clients) {
      let granted: QoS | undefined;
      for (const [filter, qos] of client.subscriptions) {
        if (topicMatches(filter, message.topic) && (granted === undefined || qos > granted)) granted = qos;
      }
      if (granted === undefined) continue;
      client.deliver({ ...message, qos: Math.min(granted, message.qos) as QoS });
      this.#counters.delivered++;
    }
  }

  /**
   * Subscribes what is newly wanted first, then drops what is not, so a
   * topic covered before and after is never without a subscription.
   * With strict, a refused SUBSCRIBE rejects (the new local filter is refused).
   */
  async #apply(wanted: Set<string>, strict: boolean): Promise<void> {
    for (const filter of wanted) {
      if (this.#upstream.has(filter)) continue;
      try {
        await this.#session.subscribe(filter, 1);
        this.#upstream.add(filter);
      } catch (error) {
        if (strict) throw error;
        this.#log.error('upstream subscription failed; local subscribers of it get nothing', { filter, reason: (error as Error).message });
      }
    }
    for (const filter of [...this.#upstream]) {
      if (wanted.has(filter)) continue;
      this.#upstream.delete(filter);
      await this.#session.unsubscribe(filter);
    }
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}
