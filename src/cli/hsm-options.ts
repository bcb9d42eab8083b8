/** What the `trustlink hsm` commands share: token selectors, key ids, where the PIN comes from. */
import { InvalidArgumentError } from 'commander';
import type { Config } from '../config/schema.js';
import type { PinSources } from '../pkcs11/secret.js';
import { isPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from '../pkcs11/uri.js';

/** --token takes a label ("dev") or a PKCS#11 URI that selects a token ("pkcs11:token=dev;serial=..."). */
export function parseTokenSelector(value: string): Pkcs11Uri {
  return isPkcs11Uri(value) ? parsePkcs11Uri(value) : { token: value };
}

/** Where the PIN comes from: --pin-file / pinFile, the URI's pin-source, TRUSTLINK_PIN, systemd credential. */
export function pinSourcesFor(config: Config, env: NodeJS.ProcessEnv, uri: Pkcs11Uri | undefined): PinSources {
  return { pinFile: config.pinFile ?? uri?.pinSource, env };
}

/** A CKA_ID given as hex, as pkcs11-tool --id takes it (even length). */
export function parseKeyId(value: string): Buffer {
  if (!/^([0-9a-fA-F]{2})+$/.test(value)) throw new InvalidArgumentError('must be hex digits, an even number of them (e.g. 01 or 3f2a).');
  return Buffer.from(value, 'hex');
}

export function parseLabel(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty.');
  return value;
}
