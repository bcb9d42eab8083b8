/**
 * Generates a device key pair inside a token. The private key is made
 * sensitive and not extractable, and is checked to be so afterwards: a
 * token that ignored the template gets its new key pair deleted again.
 */
import { randomBytes } from 'node:crypto';
import { TrustlinkError } from '../errors.js';
import { keyProtection } from './attributes.js';
import { constants as ck, tokenError, type Attribute, type Handle, type Mechanism } from './native.js';
import { hex, publicKeySpki, type OpenToken } from './token.js';
import { formatPkcs11Uri } from './uri.js';

export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

interface KeySpec {
  mechanism: Mechanism;
  /** Attributes that only the public template carries (the curve, the modulus size). */
  publicAttributes: Attribute[];
}

/** A function, not a table: the constants load the addon. */
const keySpecs = (): Record<KeyType, KeySpec> => ({
  'ec-p256': {
    mechanism: { mechanism: ck.CKM_EC_KEY_PAIR_GEN },
    publicAttributes: [{ type: ck.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }], // prime256v1
  },
  'ec-p384': {
    mechanism: { mechanism: ck.CKM_EC_KEY_PAIR_GEN },
    publicAttributes: [{ type: ck.CKA_EC_PARAMS, value: Buffer.from('06052b81040022', 'hex') }], // secp384r1
  },
  'rsa-2048': {
    mechanism: { mechanism: ck.CKM_RSA_PKCS_KEY_PAIR_GEN },
    publicAttributes: [
      { type: ck.CKA_MODULUS_BITS, value: 2048 },
      { type: ck.CKA_PUBLIC_EXPONENT, value: Buffer.from([0x01, 0x00, 0x01]) },
    ],
  },
});

export interface KeygenOptions {
  label: string;
  type: KeyType;
  /** CKA_ID; 8 random bytes when not given. */
  id?: Buffer | undefined;
}

export interface GeneratedKey {
  label: string;
  id: Buffer;
  type: KeyType;
  /** The private key's URI, for --key. */
  uri: string;
  /** DER SubjectPublicKeyInfo. */
  publicKeySpki: Buffer;
  sensitive: boolean;
  extractable: boolean;
  neverExtractable: boolean | undefined;
}

/** The key pair already under this label (a rerun after a power cut), as its URI and public half. */
export function existingKeyPair(opened: OpenToken, label: string): { uri: string; publicKeySpki: Buffer } | undefined {
  const { session, token } = opened;
  const [found] = session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY }, { type: ck.CKA_LABEL, value: label }], 1);
  if (found === undefined) return undefined;
  const id = session.attributes(found, [ck.CKA_ID]).get(ck.CKA_ID);
  const { spki } = publicKeySpki(session, token, found, id, label);
  return { uri: formatPkcs11Uri({ token: token.label, object: label, id, type: 'private' }), publicKeySpki: spki };
}

/** Deletes public keys under this label that have no private half: a generation cut short leaves them, and they block the label. */
export function removeStrayPublicKeys(opened: OpenToken, label: string): void {
  for (const stray of opened.session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY }, { type: ck.CKA_LABEL, value: label }])) {
    opened.session.destroyObject(stray);
  }
}

/** Refuses a label or id that any object of the token already has: keys are never overwritten. */
function refuseExisting(opened: OpenToken, label: string, id: Buffer | undefined): void {
  const { session, token } = opened;
  if (session.findObjects([{ type: ck.CKA_LABEL, value: label }], 1).length > 0) {
    throw new TrustlinkError('KEY_EXISTS', `token "${token.label}" already holds an object labelled "${label}"; it is not overwritten`, {
      hint: 'choose another --label (trustlink hsm list shows what the token holds)',
    });
  }
  if (id !== undefined && session.findObjects([{ type: ck.CKA_ID, value: id }], 1).length > 0) {
    throw new TrustlinkError('KEY_EXISTS', `token "${token.label}" already holds an object with id ${hex(id)}`, {
      hint: 'choose another --id, or leave it out for a random one',
    });
  }
}

export async function generateKeyPair(opened: OpenToken, options: KeygenOptions): Promise<GeneratedKey> {
  const { session, token } = opened;
  refuseExisting(opened, options.label, options.id);
  const id = options.id ?? randomBytes(8);
  const spec = keySpecs()[options.type];
  const common: Attribute[] = [
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_LABEL, value: options.label },
    { type: ck.CKA_ID, value: id },
  ];
  const publicTemplate: Attribute[] = [...common, { type: ck.CKA_PRIVATE, value: false }, { type: ck.CKA_VERIFY, value: true }, ...spec.publicAttributes];
  const privateTemplate: Attribute[] = [
    ...common,
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: false },
    { type: ck.CKA_SIGN, value: true },
  ];
  let pair: { publicKey: Handle; privateKey: Handle };
  try {
    pair = await session.generateKeyPair(spec.mechanism, publicTemplate, privateTemplate);
  } catch (error) {
    throw tokenError(error, `generating a ${options.type} key pair in token "${token.label}"`,
      'the token may not support this key type (CKR_MECHANISM_INVALID, CKR_ATTRIBUTE_VALUE_INVALID): try --type ec-p256');
  }
  const { sensitive, extractable, neverExtractable } = keyProtection(session, pair.privateKey);
  if (sensitive !== true || extractable !== false) {
    session.destroyObject(pair.privateKey);
    session.destroyObject(pair.publicKey);
    throw new TrustlinkError('TOKEN_OPERATION_FAILED',
      `token "${token.label}" made a private key that is ${sensitive !== true ? 'not sensitive' : 'extractable'} despite the template; it was deleted again`, {
        hint: 'this token cannot keep a key inside it; use another token',
      });
  }
  const { spki } = publicKeySpki(session, token, pair.privateKey, id, options.label);
  return {
    label: options.label,
    id,
    type: options.type,
    uri: formatPkcs11Uri({ token: token.label, object: options.label, id, type: 'private' }),
    publicKeySpki: spki,
    sensitive,
    extractable,
    neverExtractable,
  };
}
