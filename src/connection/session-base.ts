/**
 * What both protocol versions share: the promise returned by start(), the
 * rule for which failures are retried, and the reference-counted
 * subscriptions, restored after every reconnect before 'connected' is emitted
 * (so a user that hears 'connected' knows its subscriptions are live again).
 */
import { EventEmitter } from 'node:events';
import type { ErrorCode, TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import type { ConnectedInfo, QoS } from './mqtt.js';

const RETRYABLE_BEFORE_FIRST_CONNECT = new Set<ErrorCode>(['BROKER_UNREACHABLE', 'CREDENTIALS_UNAVAILABLE']);

interface Subscription {
  qos: QoS;
  users: number;
  /** The SUBSCRIBE in flight (or done) for this filter. */
  ready: Promise<void>;
}

interface PendingStart {
  retry: boolean;
  resolve(info: ConnectedInfo): void;
  reject(error: TrustlinkError): void;
}

export abstract class SessionBase extends EventEmitter {
  protected readonly log: Logger;
  protected readonly endpoint: string;
  readonly #subscriptions = new Map<string, Subscription>();
  protected connected = false;
  /** Counts connects, so a restore that a disconnect overtook does not announce a stale connection. */
  #generation = 0;
  /** Set by stop(): the disconnect that follows is asked for, not a fault. */
  protected stopping = false;
  #everConnected = false;
  #pending: PendingStart | undefined;

  constructor(log: Logger, endpoint: string) {
    super();
    this.log = log;
    this.endpoint = endpoint;
  }

  protected waitForFirstConnect(retry: boolean): Promise<ConnectedInfo> {
    return new Promise((resolve, reject) => {
      this.#pending = { retry, resolve, reject };
    });
  }

  /** Called by the protocol on every successful connect. */
  protected async onConnected(info: ConnectedInfo): Promise<void> {
    this.connected = true;
    this.#everConnected = true;
    const generation = ++this.#generation;
    // Sessions are clean, so the broker kept nothing: subscribe again before telling anyone.
    if (!info.sessionPresent) {
      await Promise.all([...this.#subscriptions].map(async ([filter, subscription]) => {
        subscription.ready = this.#send(filter, subscription.qos);
        await subscription.ready.catch((error: Error) => this.log.error('re-subscribe failed', { filter, reason: error.message }));
      }));
    }
    if (generation !== this.#generation || !this.connected) return;
    this.log.info('connected', { endpoint: this.endpoint, sessionPresent: info.sessionPresent, subscriptions: this.#subscriptions.size });
    this.emit('connected', info);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(info);
  }

  /**
   * Called by the protocol on a failed attempt. Returns true when the
   * session gives up (the caller then stops the client).
   */
  protected onConnectFailure(error: TrustlinkError): boolean {
    const pending = this.#pending;
    // Before the first success, only an unreachable broker (or credential service) is worth
    // waiting for: a refused certificate or CONNACK will not fix itself by retrying.
    const giveUp = pending !== undefined && (!pending.retry || (!this.#everConnected && !RETRYABLE_BEFORE_FIRST_CONNECT.has(error.code)));
    if (giveUp) {
      this.#pending = undefined;
      pending.reject(error);
      return true;
    }
    this.log.warn('connection attempt failed; retrying with backoff', { endpoint: this.endpoint, code: error.code, reason: error.message });
    return false;
  }

  protected onDisconnected(reason: string): void {
    if (!this.connected) return;
    this.connected = false;
    if (this.stopping) return;
    this.log.warn('disconnected; reconnecting with backoff', { endpoint: this.endpoint, reason });
    this.emit('disconnected', reason);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async subscribe(filter: string, qos: QoS): Promise<void> {
    let subscription = this.#subscriptions.get(filter);
    if (subscription === undefined) {
      subscription = { qos, users: 0, ready: this.connected ? this.#send(filter, qos) : Promise.resolve() };
      this.#subscriptions.set(filter, subscription);
    }
    subscription.users++;
    try {
      await subscription.ready;
    } catch (error) {
      this.#release(filter, subscription);
      throw error;
    }
  }

  async unsubscribe(filter: string): Promise<void> {
    const subscription = this.#subscriptions.get(filter);
    if (subscription === undefined || !this.#release(filter, subscription) || !this.connected) return;
    try {
      await this.sendUnsubscribe(filter);
      this.log.info('unsubscribed', { filter });
    } catch (error) {
      // The broker keeps sending what we no longer want; that is harmless, so log and go on.
      this.log.warn('unsubscribe failed', { filter, reason: (error as Error).message });
    }
  }

  /** Drops one user; true when it was the last. */
  #release(filter: string, subscription: Subscription): boolean {
    subscription.users--;
    if (subscription.users > 0 || this.#subscriptions.get(filter) !== subscription) return false;
    this.#subscriptions.delete(filter);
    return true;
  }

  async #send(filter: string, qos: QoS): Promise<void> {
    await this.sendSubscribe(filter, qos);
    this.log.info('subscribed', { filter, qos });
  }

  protected abstract sendSubscribe(filter: string, qos: QoS): Promise<void>;
  protected abstract sendUnsubscribe(filter: string): Promise<void>;
}
