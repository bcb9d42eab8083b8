/**
 * What the self-test's checks share: their inputs, and what earlier checks
 * found (the runner guarantees a check runs only after the ones it requires
 * passed, so `need()` failing is a bug, not a user error).
 */
import type { ConfigSources } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Connection } from '../connection/connect.js';
import type { CertSource, KeySource } from '../identity/sources.js';
import type { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import type { OpenToken, Pkcs11Module, SlotToken, TokenKey } from '../pkcs11/token.js';
import type { TimeSync } from './clock.js';

export interface SelftestContext {
  readonly sources: ConfigSources;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  /** The clock the checks judge by (--now overrides it in tests). */
  readonly now: Date;
  readonly buildTime: Date | undefined;
  readonly network: boolean;
  readonly timeSync: () => TimeSync;

  config?: Config;
  keySource?: KeySource;
  certSource?: CertSource;
  module?: Pkcs11Module;
  token?: SlotToken;
  /** The session the login check opened; the key check's key lives in it. */
  opened?: OpenToken;
  tokenKey?: TokenKey;
  /** DER SubjectPublicKeyInfo of the device key, from the token or the PEM file. */
  keySpki?: Buffer;
  addresses?: string[];
  connection?: Connection;
  /** The broker completed the TLS handshake but refused the MQTT CONNECT. */
  connackRefusal?: TrustlinkError;
  /** Run in reverse order when the self-test ends. */
  readonly cleanups: Array<() => void | Promise<void>>;
}

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`self-test bug: ${what} is missing although its check passed`);
  return value;
}
