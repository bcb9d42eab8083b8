/**
 * What both protocol versions share: the promise returned by start(), the
 * rule for which failures are retried, and re-subscribing after a reconnect.
 */
import { EventEmitter } from 'node:events';
import type { ErrorCode, TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import type { ConnectedInfo, QoS } from './mqtt.js';

const RETRYABLE_BEFORE_FIRST_CONNECT = new Set<ErrorCode>(['BROKER_UNREACHABLE', 'CREDENTIALS_UNAVAILABLE']);

interface PendingStart {
  retry: boolean;
  resolve(info: ConnectedInfo): void;
  reject(error: TrustlinkError): void;
}

export abstract class SessionBase extends EventEmitter {
  protected readonly log: Logger;
  protected readonly endpoint: string;
  protected readonly subscriptions = new Map<string, QoS>();
  protected connected = false;
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
    this.log.info('connected', { endpoint: this.endpoint, sessionPresent: info.sessionPresent });
    this.emit('connected', info);
    if (!info.sessionPresent) {
      for (const [filter, qos] of this.subscriptions) {
        try {
          await this.sendSubscribe(filter, qos);
          this.log.info('subscribed', { filter, qos });
        } catch (error) {
          this.log.error('re-subscribe failed', { filter, reason: (error as Error).message });
        }
      }
    }
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

  async subscribe(filter: string, qos: QoS): Promise<void> {
    this.subscriptions.set(filter, qos);
    if (!this.connected) return;
    await this.sendSubscribe(filter, qos);
    this.log.info('subscribed', { filter, qos });
  }

  protected abstract sendSubscribe(filter: string, qos: QoS): Promise<void>;
}
