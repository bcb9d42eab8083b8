/**
 * One local MQTT 3.1.1 or 5 client on the agent's endpoint, framed by
 * mqtt-packet. It speaks the protocol (CONNECT, PUBLISH with in-order PUBACKs,
 * SUBSCRIBE, UNSUBSCRIBE, PING, keep-alive) and hands every decision to the
 * bridge: what a publish is answered with, what a subscription is granted.
 * Sessions are clean and QoS is at most 1: nothing of a local client outlives
 * its connection, and nothing about it (its client ID least) goes upstream.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import mqtt, { type IConnectPacket, type IPublishPacket, type ISubscribePacket, type IUnsubscribePacket, type Packet } from 'mqtt-packet';
import type { Logger } from '../log/log.js';
import { topicFilterProblem } from '../topics/topics.js';

// Otherwise the first packet written builds a Buffer for each of the 65,536 message ids: ~7 MiB held for good.
mqtt.writeToStream.cacheNumbers = false;

export type QoS = 0 | 1;

/** MQTT 5 reason codes the endpoint sends. */
export const REASON = {
  success: 0x00,
  noSubscriptionExisted: 0x11,
  unspecified: 0x80,
  protocolError: 0x82,
  notAuthorized: 0x87,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  quotaExceeded: 0x97,
  qosNotSupported: 0x9b,
  sharedSubscriptionsNotSupported: 0x9e,
  serverShuttingDown: 0x8b,
} as const;

export interface LocalMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
}

/** What a local client asks of the bridge. */
export interface LocalClientHandler {
  /** Called once the CONNECT was accepted. */
  connected(client: LocalClient): void;
  /** Resolves to the MQTT 5 reason code to answer with (QoS 1) or to count (QoS 0). */
  publish(client: LocalClient, message: LocalMessage): Promise<number>;
  /** Resolves to the granted QoS, or a failure reason code (>= 0x80). */
  subscribe(client: LocalClient, filter: string, qos: QoS): Promise<number>;
  /** Resolves to 0x00, or 0x11 when there was no such subscription. */
  unsubscribe(client: LocalClient, filter: string): Promise<number>;
  closed(client: LocalClient): void;
}

/** How many QoS 1 publishes a client may have waiting for their PUBACK before its socket is paused. */
export const RECEIVE_MAXIMUM = 100;
/** Deliveries queued for a client that is not reading, past which new ones are dropped (and counted). */
const OUTBOUND_QUEUE_LIMIT = 1_000;

interface PendingAck {
  messageId: number;
  reasonCode: number | undefined;
}

export class LocalClient {
  id = '';
  version: 3 | 4 | 5 = 4;
  /** Filter → granted QoS. */
  readonly subscriptions = new Map<string, QoS>();
  /** Deliveries this client missed because it did not keep up. */
  dropped = 0;
  readonly #socket: Socket;
  readonly #handler: LocalClientHandler;
  readonly #log: Logger;
  readonly #parser = mqtt.parser();
  readonly #acks: PendingAck[] = [];
  readonly #inFlight = new Set<number>();
  readonly #outbound: LocalMessage[] = [];
  #sendWindow = RECEIVE_MAXIMUM;
  #nextMessageId = 1;
  #connected = false;
  #closed = false;
  #keepAlive: NodeJS.Timeout | undefined;
  #keepAliveMs = 0;

  constructor(socket: Socket, handler: LocalClientHandler, log: Logger) {
    this.#socket = socket;
    this.#handler = handler;
    this.#log = log;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => {
      this.#touch();
      this.#parser.parse(chunk);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#onClose());
    this.#parser.on('packet', (packet: Packet) => this.#onPacket(packet));
    this.#parser.on('error', (error: Error) => this.#protocolError(`malformed packet: ${error.message}`, REASON.protocolError));
    // A client that opens the socket and never says CONNECT does not hold it for long.
    this.#armKeepAlive(10_000);
  }

  get isMqtt5(): boolean {
    return this.version === 5;
  }

  /** Sends a message that arrived from upstream, at the QoS the subscription allows. */
  deliver(message: LocalMessage): void {
    if (this.#closed) return;
    if (message.qos === 0) {
      this.#write({ cmd: 'publish', topic: message.topic, payload: message.payload, qos: 0, retain: message.retain, dup: false });
      return;
    }
    if (this.#inFlight.size >= this.#sendWindow) {
      if (this.#outbound.length >= OUTBOUND_QUEUE_LIMIT) this.dropped++;
      else this.#outbound.push(message);
      return;
    }
    this.#sendQos1(message);
  }

  /** Closes the connection; MQTT 5 clients are told why first. */
  disconnect(reasonCode: number): void {
    if (this.#closed) return;
    if (this.isMqtt5 && this.#connected) this.#write({ cmd: 'disconnect', reasonCode });
    this.#socket.end();
    this.#socket.destroySoon?.();
    setTimeout(() => this.#socket.destroy(), 1_000).unref();
  }

  #sendQos1(message: LocalMessage): void {
    let messageId = this.#nextMessageId;
    while (this.#inFlight.has(messageId)) messageId = (messageId % 65535) + 1;
    this.#nextMessageId = (messageId % 65535) + 1;
    this.#inFlight.add(messageId);
    this.#write({ cmd: 'publish', topic: message.topic, payload: message.payload, qos: 1, retain: message.retain, dup: false, messageId });
  }

  #onPacket(packet: Packet): void {
    if (!this.#connected && packet.cmd !== 'connect') {
      this.#protocolError(`${packet.cmd} before CONNECT`, REASON.protocolError);
      return;
    }
    switch (packet.cmd) {
      case 'connect':
        this.#onConnect(packet);
        return;
      case 'publish':
        this.#onPublish(packet);
        return;
      case 'puback':
        this.#onPuback(packet.messageId);
        return;
      case 'subscribe':
        void this.#onSubscribe(packet);
        return;
      case 'unsubscribe':
        void this.#onUnsubscribe(packet);
        return;
      case 'pingreq':
        this.#write({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        this.#socket.end();
        return;
      default:
        this.#protocolError(`unexpected ${packet.cmd}`, REASON.protocolError);
    }
  }

  #onConnect(packet: IConnectPacket): void {
    if (this.#connected) {
      this.#protocolError('a second CONNECT', REASON.protocolError);
      return;
    }
    this.version = packet.protocolVersion ?? 4;
    const assigned = packet.clientId === '' ? `local-${randomUUID()}` : undefined;
    this.id = assigned ?? packet.clientId;
    this.#sendWindow = Math.min(packet.properties?.receiveMaximum ?? RECEIVE_MAXIMUM, RECEIVE_MAXIMUM);
    this.#connected = true;
    this.#keepAliveMs = (packet.keepalive ?? 0) * 1500;
    this.#armKeepAlive(this.#keepAliveMs);
    if (this.isMqtt5) {
      this.#write({
        cmd: 'connack', reasonCode: REASON.success, sessionPresent: false,
        properties: {
          receiveMaximum: RECEIVE_MAXIMUM, maximumQoS: 1, retainAvailable: true, wildcardSubscriptionAvailable: true,
          subscriptionIdentifiersAvailable: false, sharedSubscriptionAvailable: false,
          ...(assigned !== undefined ? { assignedClientIdentifier: assigned } : {}),
        },
      });
    } else {
      this.#write({ cmd: 'connack', returnCode: 0, sessionPresent: false });
    }
    this.#handler.connected(this);
  }

  #onPublish(packet: IPublishPacket): void {
    if (packet.qos === 2) {
      this.#protocolError('QoS 2 is not supported (AWS IoT takes QoS 0 and 1)', REASON.qosNotSupported);
      return;
    }
    if (packet.properties?.topicAlias !== undefined) {
      this.#protocolError('topic aliases are not supported (Topic Alias Maximum is 0)', REASON.topicAliasInvalid);
      return;
    }
    // MQTT's own rules here; AWS IoT's limits (levels, bytes) are the bridge's to answer with a reason code.
    if (packet.topic === '' || /[+#\u0000]/.test(packet.topic)) {
      this.#protocolError(`invalid topic name "${packet.topic}"`, REASON.topicNameInvalid);
      return;
    }
    const message: LocalMessage = {
      topic: packet.topic,
      payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
      qos: packet.qos,
      retain: packet.retain,
    };
    const outcome = this.#handler.publish(this, message);
    if (packet.qos === 0) return;
    const ack: PendingAck = { messageId: packet.messageId ?? 0, reasonCode: undefined };
    this.#acks.push(ack);
    // A client that keeps publishing while its acks wait is slowed by TCP, not by memory.
    if (this.#acks.length >= RECEIVE_MAXIMUM) this.#socket.pause();
    void outcome.then((reasonCode) => {
      ack.reasonCode = reasonCode;
      this.#flushAcks();
    });
  }

  /** PUBACKs leave in the order their PUBLISHes came ([MQTT-4.6.0-2]). */
  #flushAcks(): void {
    while (this.#acks.length > 0 && this.#acks[0]?.reasonCode !== undefined) {
      const { messageId, reasonCode } = this.#acks.shift() as Required<PendingAck>;
      if (this.isMqtt5) {
        this.#write({ cmd: 'puback', messageId, reasonCode });
      } else if (reasonCode === REASON.quotaExceeded) {
        // MQTT 3.1.1 has no way to refuse one message: closing is the only "no" the client will retry.
        this.#socket.destroy();
        return;
      } else {
        this.#write({ cmd: 'puback', messageId });
      }
    }
    if (this.#acks.length < RECEIVE_MAXIMUM / 2 && this.#socket.isPaused()) this.#socket.resume();
  }

  #onPuback(messageId: number | undefined): void {
    if (messageId === undefined || !this.#inFlight.delete(messageId)) return;
    const next = this.#outbound.shift();
    if (next !== undefined) this.#sendQos1(next);
  }

  async #onSubscribe(packet: ISubscribePacket): Promise<void> {
    const granted: number[] = [];
    for (const { topic, qos } of packet.subscriptions) {
      if (topic.startsWith('$share/')) granted.push(this.isMqtt5 ? REASON.sharedSubscriptionsNotSupported : REASON.unspecified);
      else if (topicFilterProblem(topic) !== undefined) granted.push(this.isMqtt5 ? REASON.topicFilterInvalid : REASON.unspecified);
      else {
        const code = await this.#handler.subscribe(this, topic, qos === 0 ? 0 : 1);
        granted.push(code >= REASON.unspecified && !this.isMqtt5 ? REASON.unspecified : code);
      }
    }
    this.#write({ cmd: 'suback', messageId: packet.messageId ?? 0, granted });
  }

  async #onUnsubscribe(packet: IUnsubscribePacket): Promise<void> {
    const codes: number[] = [];
    for (const filter of packet.unsubscriptions) codes.push(await this.#handler.unsubscribe(this, filter));
    this.#write(this.isMqtt5
      ? { cmd: 'unsuback', messageId: packet.messageId ?? 0, granted: codes }
      : { cmd: 'unsuback', messageId: packet.messageId ?? 0 } as Packet);
  }

  #protocolError(reason: string, reasonCode: number): void {
    this.#log.warn('local client closed: protocol error', { clientId: this.id || undefined, reason });
    this.disconnect(reasonCode);
  }

  #write(packet: Packet): void {
    if (this.#closed || this.#socket.destroyed) return;
    this.#socket.write(mqtt.generate(packet, { protocolVersion: this.version }));
  }

  #armKeepAlive(ms: number): void {
    clearTimeout(this.#keepAlive);
    this.#keepAlive = ms > 0 ? setTimeout(() => this.#protocolError('keep-alive expired', 0x8d), ms) : undefined;
  }

  #touch(): void {
    if (this.#connected && this.#keepAliveMs > 0) this.#keepAlive?.refresh();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#keepAlive);
    if (this.#connected) this.#handler.closed(this);
  }
}
