/**
 * Subscribes a service's filters on every connect and only then tells it
 * the session is up: a request published on 'connected' must not race the
 * SUBSCRIBE that lets its answer in (today's session re-subscribes only
 * after emitting 'connected'). Used by jobs and the shadow. Once the
 * session restores subscriptions before 'connected' (the bridge branch),
 * this becomes: subscribe once here, and call `ready` on 'connected'.
 */
import type { MqttSession, QoS } from '../connection/mqtt.js';
import type { Logger } from '../log/log.js';

export interface Subscribed {
  stop(): void;
}

export function onSubscribed(session: MqttSession, filters: string[], qos: QoS, log: Logger, ready: () => void): Subscribed {
  const onConnected = (): void => {
    Promise.all(filters.map((filter) => session.subscribe(filter, qos)))
      .then(ready)
      .catch((error: Error) => log.error('subscribe failed', { filters, reason: error.message }));
  };
  session.on('connected', onConnected);
  return { stop: () => void session.off('connected', onConnected) };
}
