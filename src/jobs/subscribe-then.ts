/**
 * Subscribes a service's filters once and tells it the session is up: now,
 * if it already is, and on every later 'connected'. The session restores its
 * subscriptions before emitting 'connected', so a request published from
 * `ready` never races the SUBSCRIBE that lets its answer in. Used by jobs
 * and the shadow, which may start after the first connect. A refused or
 * interrupted SUBSCRIBE is tried again at the next connect.
 */
import type { MqttSession, QoS } from '../connection/mqtt.js';
import type { Logger } from '../log/log.js';

export interface Subscribed {
  /** Stops calling `ready` and drops the references this took. */
  stop(): void;
}

export function onSubscribed(session: MqttSession, filters: string[], qos: QoS, log: Logger, ready: () => void): Subscribed {
  let stopped = false;
  let subscribing = false;
  let subscribed = false;
  const held: string[] = [];

  const subscribe = async (): Promise<void> => {
    subscribing = true;
    const results = await Promise.allSettled(filters.map(async (filter) => {
      await session.subscribe(filter, qos);
      held.push(filter);
    }));
    subscribing = false;
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (stopped || failed !== undefined) {
      release(session, held);
      if (!stopped && failed !== undefined) log.error('subscribe failed; trying again at the next connect', { filters, reason: (failed.reason as Error).message });
      return;
    }
    subscribed = true;
    if (session.isConnected) ready();
  };

  const onConnected = (): void => {
    if (subscribed) ready();
    else if (!subscribing) void subscribe();
  };
  session.on('connected', onConnected);
  void subscribe();

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      session.off('connected', onConnected);
      release(session, held);
    },
  };
}

function release(session: MqttSession, filters: string[]): void {
  for (const filter of filters.splice(0)) void session.unsubscribe(filter);
}
