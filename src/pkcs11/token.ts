/**
 * A device key held in a token: finds the token and the key a PKCS#11 URI
 * names, logs in once, and reads the key's public half. The private key is
 * only ever used through the token (sign), never read.
 */
import { ecSpki, rsaSpki } from '../der/spki.js';
import { TrustlinkError } from '../errors.js';
import { nodeCrypto } from '../node-crypto.js';
import { constants as ck, Pkcs11Module, tokenError, resultName, type Handle, type Session, type SlotToken, type Template } from './native.js';

export type { Pkcs11Module, SlotToken } from './native.js';
import { EC_CURVES, keyProtection, type KeyProtection } from './attributes.js';
import { describePinFlags, type PinFlags } from './pin-flags.js';
import type { Pin } from './secret.js';
import { isTpm2Module, tpmLockoutHint } from './tpm.js';
import type { Pkcs11Uri } from './uri.js';

export function pinFlags(flags: number): PinFlags {
  return {
    countLow: (flags & ck.CKF_USER_PIN_COUNT_LOW) !== 0,
    finalTry: (flags & ck.CKF_USER_PIN_FINAL_TRY) !== 0,
    locked: (flags & ck.CKF_USER_PIN_LOCKED) !== 0,
    toBeChanged: (flags & ck.CKF_USER_PIN_TO_BE_CHANGED) !== 0,
  };
}

export type KeyAlgorithm = 'ec' | 'rsa';

export interface TokenKey {
  readonly token: SlotToken;
  readonly keyLabel: string | undefined;
  readonly keyId: Buffer | undefined;
  readonly algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo of the key pair. */
  readonly publicKeySpki: Buffer;
  /**
   * Signs SHA-256(data) inside the token: ECDSA as raw r||s (IEEE P1363),
   * RSA as PKCS#1 v1.5.
   */
  signSha256(data: Buffer): Buffer;
  /** Read when asked: only the self-test and hsm list report it. */
  protection(): KeyProtection;
  close(): void;
}

/** Tokens whose PIN was refused in this process: never offered a second guess. */
const refusedPins = new Set<string>();

function matchesToken(uri: Pkcs11Uri, token: SlotToken): boolean {
  return (
    (uri.token === undefined || uri.token === token.label) &&
    (uri.serial === undefined || uri.serial === token.serial) &&
    (uri.manufacturer === undefined || uri.manufacturer === token.manufacturer) &&
    (uri.model === undefined || uri.model === token.model) &&
    (uri.slotId === undefined || uri.slotId === token.slotId) &&
    (uri.slotDescription === undefined || uri.slotDescription === token.slotDescription)
  );
}

export function selectToken(module: Pkcs11Module, uri: Pkcs11Uri): SlotToken {
  const tokens = module.tokens();
  const matching = tokens.filter((token) => matchesToken(uri, token));
  const present = tokens.map((token) => `"${token.label}" (serial ${token.serial}, slot ${token.slotId})`).join(', ') || 'none';
  if (matching.length === 0) {
    throw new TrustlinkError('TOKEN_NOT_FOUND', `no token matches ${describeTokenSelector(uri)} in ${module.path}; tokens present: ${present}`, {
      hint: 'check token= in the key URI (trustlink hsm list shows the tokens)',
    });
  }
  if (matching.length > 1) {
    throw new TrustlinkError('TOKEN_NOT_FOUND', `${matching.length} tokens match ${describeTokenSelector(uri)}: ${present}`, {
      hint: 'add token= or serial= to the key URI to pick one',
    });
  }
  return matching[0] as SlotToken;
}

function describeTokenSelector(uri: Pkcs11Uri): string {
  const parts = [
    uri.token !== undefined && `token "${uri.token}"`,
    uri.serial !== undefined && `serial "${uri.serial}"`,
    uri.slotId !== undefined && `slot-id ${uri.slotId}`,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'the key URI';
}

/** Logs in at most once per token and process; a refused PIN is reported, not retried. */
export function loginOnce(module: Pkcs11Module, token: SlotToken, session: Session, pin: Pin): void {
  const tokenKey = `${module.path}#${token.serial}`;
  const before = pinFlags(module.tokenFlags(token.slot));
  if (refusedPins.has(tokenKey)) {
    throw new TrustlinkError('PIN_INCORRECT', `the PIN for token "${token.label}" was already refused once; it is not tried again`, {
      hint: 'fix the PIN, then restart trustlink',
    });
  }
  if (before.locked) {
    throw new TrustlinkError('PIN_LOCKED', `the user PIN of token "${token.label}" is locked; no login was attempted`, {
      hint: 'unlock the user PIN with the SO PIN (softhsm2-util / tpm2_ptool / the vendor tool), or re-provision the token',
    });
  }
  try {
    session.loginUser(pin.reveal());
  } catch (error) {
    const name = resultName(error);
    if (name === 'CKR_PIN_INCORRECT' || name === 'CKR_PIN_LOCKED') {
      refusedPins.add(tokenKey);
      const locked = name === 'CKR_PIN_LOCKED';
      // A TPM's PIN flags stay clear even in lockout: its dictionary-attack counter is what counts.
      const tpm = isTpm2Module(module.info());
      const state = !tpm
        ? `token now reports: ${describePinFlags(pinFlags(module.tokenFlags(token.slot)))}`
        : locked ? 'the TPM is in dictionary-attack lockout' : 'the TPM counted a dictionary-attack failure';
      throw new TrustlinkError(locked ? 'PIN_LOCKED' : 'PIN_INCORRECT',
        `token "${token.label}" refused the PIN from ${pin.source} (tried once, not retried); ${state}`, {
          cause: error,
          hint: tpm ? tpmLockoutHint(locked) : 'check the PIN file or TRUSTLINK_PIN; each wrong try brings the token closer to locking',
        });
    }
    throw tokenError(error, `logging in to token "${token.label}"`);
  }
}

export function hex(buffer: Buffer | undefined): string {
  return buffer && buffer.length > 0 ? buffer.toString('hex') : '-';
}

const className = (value: number): string | undefined => new Map<number, string>([
  [ck.CKO_PRIVATE_KEY, 'private'],
  [ck.CKO_PUBLIC_KEY, 'public'],
  [ck.CKO_CERTIFICATE, 'cert'],
  [ck.CKO_SECRET_KEY, 'secret-key'],
  [ck.CKO_DATA, 'data'],
]).get(value);

/** One line per object, for "not found" messages: what the token does hold. */
function describeObjects(session: Session): string {
  const lines = session.findObjects([]).map((object) => {
    const attributes = session.attributes(object, [ck.CKA_CLASS, ck.CKA_LABEL, ck.CKA_ID]);
    const classValue = attributes.get(ck.CKA_CLASS)?.readUInt32LE(0);
    const kind = (classValue !== undefined && className(classValue)) || 'other';
    return `${kind} "${attributes.get(ck.CKA_LABEL)?.toString('utf8') ?? ''}" id=${hex(attributes.get(ck.CKA_ID))}`;
  });
  return lines.length > 0 ? lines.join('; ') : 'no objects';
}

export function findPrivateKey(session: Session, token: SlotToken, uri: Pkcs11Uri): Handle {
  if (uri.type !== undefined && uri.type !== 'private') {
    throw new TrustlinkError('PKCS11_URI_INVALID', `the key URI says type=${uri.type}; a device key needs type=private (or no type)`);
  }
  const template: Template = [{ type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY }];
  if (uri.object !== undefined) template.push({ type: ck.CKA_LABEL, value: uri.object  });
  if (uri.id !== undefined) template.push({ type: ck.CKA_ID, value: uri.id  });
  const keys = session.findObjects(template);
  const wanted = [uri.object !== undefined && `object "${uri.object}"`, uri.id !== undefined && `id ${hex(uri.id)}`].filter(Boolean).join(', ');
  if (keys.length === 0) {
    throw new TrustlinkError('KEY_NOT_FOUND', `token "${token.label}" has no private key matching ${wanted || 'the URI'}; it holds: ${describeObjects(session)}`, {
      hint: 'fix object= or id= in the key URI (trustlink hsm list shows them), or generate the key (trustlink hsm keygen)',
    });
  }
  if (keys.length > 1) {
    throw new TrustlinkError('KEY_NOT_FOUND', `${keys.length} private keys in token "${token.label}" match ${wanted || 'the URI'}`, {
      hint: 'add object= or id= to the key URI to pick one',
    });
  }
  return keys[0] as Handle;
}

/** CKA_EC_POINT is a DER OCTET STRING around the point; a few modules return the bare point. */
function unwrapEcPoint(point: Buffer): Buffer {
  if (point[0] === 0x04 && point.length > 2) {
    const length = point[1] as number;
    if (length < 0x80 && length === point.length - 2) return point.subarray(2);
    if (length === 0x81 && point[2] === point.length - 3) return point.subarray(3);
  }
  return point;
}

export function publicKeySpki(session: Session, token: SlotToken, privateKey: Handle, keyId: Buffer | undefined, label: string | undefined): { spki: Buffer; algorithm: KeyAlgorithm } {
  const keyType = session.attributes(privateKey, [ck.CKA_KEY_TYPE]).get(ck.CKA_KEY_TYPE)?.readUInt32LE(0);
  const template: Template = [{ type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY }];
  if (keyId !== undefined && keyId.length > 0) template.push({ type: ck.CKA_ID, value: keyId  });
  else if (label !== undefined) template.push({ type: ck.CKA_LABEL, value: label  });
  const [publicKey] = session.findObjects(template, 2);
  if (keyType === ck.CKK_RSA) {
    // RSA private key objects carry the modulus and exponent themselves.
    const source = publicKey ?? privateKey;
    const attributes = session.attributes(source, [ck.CKA_MODULUS, ck.CKA_PUBLIC_EXPONENT]);
    const n = attributes.get(ck.CKA_MODULUS);
    const e = attributes.get(ck.CKA_PUBLIC_EXPONENT);
    if (n && e) return { spki: rsaSpki(n, e), algorithm: 'rsa' };
  } else if (keyType === ck.CKK_EC && publicKey) {
    const attributes = session.attributes(publicKey, [ck.CKA_EC_PARAMS, ck.CKA_EC_POINT]);
    const params = attributes.get(ck.CKA_EC_PARAMS);
    const point = attributes.get(ck.CKA_EC_POINT);
    if (params && EC_CURVES[params.toString('hex')] && point) return { spki: ecSpki(params, unwrapEcPoint(point)), algorithm: 'ec' };
  }
  throw new TrustlinkError('KEY_NOT_FOUND', `cannot read the public half of key "${label ?? hex(keyId)}" in token "${token.label}" (no matching public key object, or an unsupported key type)`, {
    hint: 'trustlink supports EC P-256/P-384/P-521 and RSA keys with a public key object of the same CKA_ID',
  });
}

/** The module to load: configured, or named in the URI (module-path=). */
export function requireModulePath(configured: string | undefined, uri: Pkcs11Uri | undefined): string {
  const modulePath = configured ?? uri?.modulePath;
  if (modulePath === undefined) {
    throw new TrustlinkError('USAGE', 'a PKCS#11 token needs a module: --pkcs11-module PATH, "pkcs11Module" in the config, or module-path= in the URI', {
      hint: 'e.g. /usr/lib/softhsm/libsofthsm2.so or the tpm2-pkcs11 module libtpm2_pkcs11.so',
    });
  }
  return modulePath;
}

export interface OpenTokenOptions {
  modulePath: string;
  /** Selects the token (token=, serial=, slot-id= ...). */
  uri: Pkcs11Uri;
  /** Logs in when given; without it only public objects are visible. */
  pin?: Pin | undefined;
  readWrite?: boolean;
}

/** A session with one token, logged in when a PIN was given. */
export interface OpenToken {
  token: SlotToken;
  session: Session;
  close(): void;
}

/** Loads (and initializes) a PKCS#11 module. */
export function openModule(modulePath: string): Pkcs11Module {
  return Pkcs11Module.load(modulePath);
}

/** A session with a token already selected in a loaded module; logs in (once per process) when a PIN is given. */
export function openSession(module: Pkcs11Module, token: SlotToken, options: { pin?: Pin | undefined; readWrite?: boolean | undefined } = {}): OpenToken {
  const session = module.openSession(token.slot, options.readWrite);
  try {
    if (options.pin !== undefined) loginOnce(module, token, session, options.pin);
  } catch (error) {
    session.close();
    throw error;
  }
  return { token, session, close: () => session.close() };
}

export function openToken(options: OpenTokenOptions): OpenToken {
  const module = openModule(options.modulePath);
  return openSession(module, selectToken(module, options.uri), options);
}

/**
 * The private key the URI names, in an open (logged-in) token: its label,
 * id and public half. Closing the key closes the token's session.
 */
export function tokenKeyIn(opened: OpenToken, uri: Pkcs11Uri): TokenKey {
  const { token, session } = opened;
  const privateKey = findPrivateKey(session, token, uri);
  const attributes = session.attributes(privateKey, [ck.CKA_LABEL, ck.CKA_ID]);
  const keyLabel = attributes.get(ck.CKA_LABEL)?.toString('utf8');
  const keyId = attributes.get(ck.CKA_ID);
  const { spki, algorithm } = publicKeySpki(session, token, privateKey, keyId, keyLabel);
  return {
    token,
    keyLabel,
    keyId,
    algorithm,
    publicKeySpki: spki,
    protection: () => keyProtection(session, privateKey),
    signSha256(data: Buffer): Buffer {
      try {
        if (algorithm === 'rsa') return session.sign({ mechanism: ck.CKM_SHA256_RSA_PKCS }, privateKey, data);
        // CKM_ECDSA signs a digest the caller made; not every token offers CKM_ECDSA_SHA256.
        const digest = nodeCrypto().createHash('sha256').update(data).digest();
        return session.sign({ mechanism: ck.CKM_ECDSA }, privateKey, digest);
      } catch (error) {
        throw tokenError(error, `signing with key "${keyLabel ?? hex(keyId)}" in token "${token.label}"`);
      }
    },
    close: () => opened.close(),
  };
}

export interface OpenKeyOptions {
  modulePath: string;
  uri: Pkcs11Uri;
  pin: Pin;
}

export function openTokenKey(options: OpenKeyOptions): TokenKey {
  const opened = openToken(options);
  try {
    return tokenKeyIn(opened, options.uri);
  } catch (error) {
    opened.close();
    throw error;
  }
}
