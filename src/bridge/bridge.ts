/**
 * The agent's local MQTT endpoint: local programs publish and subscribe
 * through the device's one upstream session. Local publishes go up through
 * the spool (uplink.ts); local subscriptions are counted and held upstream
 * (downlink.ts); the allowlists decide what local programs may use, and the
 * AWS IoT policy stays the real gate.
 */
import type { Socket } from 'node:net';
import type { MqttSession, ReceivedMessage } from '../connection/mqtt.js';
import type { Logger } from '../log/log.js';
import { openSpool, type Spool } from '../spool/index.js';
import { newCounters, type BridgeCounters } from './counters.js';
import { Downlink } from './downlink.js';
import { listen, type Listener } from './listeners.js';
import type { ListenAddress } from '../config/listen-address.js';
import { LocalClient, REASON, type LocalClientHandler, type LocalMessage, type QoS } from './local-client.js';
import { OncePerInterval } from './once-per-interval.js';
import { topicMatches, topicNameProblem } from '../topics/topics.js';
import { covers } from './topic-filter.js';
import { Uplink } from './uplink.js';

export interface BridgeOptions {
  session: MqttSession;
  log: Logger;
  listen: ListenAddress[];
  /** Filters local programs may publish to; undefined: any topic. */
  forwardPublish: string[] | undefined;
  /** Filters local programs may subscribe to (or within); undefined: any. */
  forwardSubscribe: string[] | undefined;
  spoolDir: string;
  spoolMaxBytes: number;
}

export interface BridgeStatus extends Record<string, unknown> {
  listen: string[];
  localClients: number;
  upstreamSubscriptions: string[];
  inFlight: number;
  spool: ReturnType<Spool['stats']>;
  counters: BridgeCounters;
}

export interface Bridge {
  readonly name: 'bridge';
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): BridgeStatus;
}

export function createBridge(options: BridgeOptions): Bridge {
  const { session, log } = options;
  const counters = newCounters();
  const clients = new Set<LocalClient>();
  const sockets = new Set<Socket>();
  const listeners: Listener[] = [];
  const notAllowedLog = new OncePerInterval(60_000);
  const downlink = new Downlink(session, log, counters);
  let spool: Spool | undefined;
  let uplink: Uplink | undefined;

  const refuse = (what: string, fields: Record<string, unknown>): number => {
    counters.refusedNotAllowed++;
    notAllowedLog.run(() => log.warn(`local ${what} refused by the forward allowlist`, { ...fields, refusedNotAllowed: counters.refusedNotAllowed }));
    return REASON.notAuthorized;
  };

  const handler: LocalClientHandler = {
    connected(client) {
      for (const other of clients) {
        // MQTT: a second connection with the same client ID takes over from the first.
        if (other.id === client.id) other.disconnect(REASON.sessionTakenOver);
      }
      clients.add(client);
      log.debug('local client connected', { clientId: client.id, mqtt: client.version === 5 ? '5' : '3.1.1' });
    },
    publish(client, message: LocalMessage) {
      const problem = topicNameProblem(message.topic);
      if (problem !== undefined) {
        counters.received++;
        counters.refusedInvalidTopic++;
        log.warn('local publish refused: AWS IoT would refuse the topic', { topic: message.topic, clientId: client.id, problem });
        return Promise.resolve(REASON.topicNameInvalid);
      }
      if (options.forwardPublish !== undefined && !options.forwardPublish.some((filter) => topicMatches(filter, message.topic))) {
        counters.received++;
        return Promise.resolve(refuse('publish', { topic: message.topic }));
      }
      return (uplink as Uplink).publish(message);
    },
    subscribe(client, filter, qos: QoS) {
      if (options.forwardSubscribe !== undefined && !options.forwardSubscribe.some((allowed) => covers(allowed, filter))) {
        return Promise.resolve(refuse('subscription', { filter }));
      }
      return downlink.subscribe(client, filter, qos);
    },
    unsubscribe: (client, filter) => downlink.unsubscribe(client, filter),
    closed(client) {
      clients.delete(client);
      counters.droppedSlowClient += client.dropped;
      void downlink.dropClient(client);
      log.debug('local client disconnected', { clientId: client.id });
    },
  };

  const onMessage = (message: ReceivedMessage): void => {
    downlink.deliver(clients, { topic: message.topic, payload: message.payload, qos: message.qos >= 1 ? 1 : 0, retain: message.retain });
  };
  const onSocket = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    new LocalClient(socket, handler, log);
  };

  return {
    name: 'bridge',
    async start() {
      spool = await openSpool({ dir: options.spoolDir, maxBytes: options.spoolMaxBytes, log });
      uplink = new Uplink(session, spool, log, counters);
      session.on('message', onMessage).on('connected', uplink.onConnected).on('disconnected', uplink.onDisconnected);
      if (session.isConnected) uplink.onConnected();
      try {
        for (const address of options.listen) listeners.push(await listen(address, onSocket));
      } catch (error) {
        await this.stop();
        throw error;
      }
      log.info('local MQTT endpoint listening', {
        listen: listeners.map((listener) => listener.address),
        forwardPublish: options.forwardPublish ?? 'any topic',
        forwardSubscribe: options.forwardSubscribe ?? 'any filter',
        spoolDir: options.spoolDir,
        spoolMaxBytes: options.spoolMaxBytes,
        spooled: spool.stats().messages,
      });
    },
    async stop() {
      const closing = listeners.splice(0).map((listener) => listener.close());
      for (const client of clients) client.disconnect(REASON.serverShuttingDown);
      for (const socket of sockets) socket.destroy();
      await Promise.all(closing);
      if (uplink !== undefined) {
        session.off('message', onMessage).off('connected', uplink.onConnected).off('disconnected', uplink.onDisconnected);
        await uplink.stop();
      }
      await spool?.close();
    },
    status() {
      return {
        listen: options.listen.length === 0 ? [] : listeners.map((listener) => listener.address),
        localClients: clients.size,
        upstreamSubscriptions: downlink.upstream,
        inFlight: uplink?.inFlight ?? 0,
        spool: spool?.stats() ?? { messages: 0, bytes: 0, oldestAgeMs: undefined, discardedTornRecords: 0 },
        counters: { ...counters, droppedSlowClient: counters.droppedSlowClient + [...clients].reduce((sum, client) => sum + client.dropped, 0) },
      };
    },
  };
}
