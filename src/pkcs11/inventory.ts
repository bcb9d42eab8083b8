/**
 * What a PKCS#11 module holds: slots, tokens with their PIN state, and the
 * keys and certificates in them, each with a URI ready to paste into --key
 * or --cert. Public objects are listed for every token; private keys only
 * for the one token logged in to.
 */
import { X509Certificate } from 'node:crypto';
import { asText, keyFacts, keyProtection, type KeyFacts } from './attributes.js';
import { constants as ck, tokenError, type Handle, type Pkcs11Module, type Session, type SlotToken } from './native.js';
import type { Pin } from './secret.js';
import { isTpm2Module, TPM_PIN_FLAGS_NOTE } from './tpm.js';
import type { PinFlags } from './pin-flags.js';
import { loginOnce, pinFlags, selectToken } from './token.js';
import { formatPkcs11Uri, type Pkcs11Uri } from './uri.js';

export interface KeyEntry extends KeyFacts {
  class: 'private' | 'public';
  label: string;
  /** CKA_ID in hex ("" when the key has none). */
  id: string;
  /** Private keys only. */
  sensitive?: boolean;
  extractable?: boolean;
  neverExtractable?: boolean;
  uri: string;
}

export interface CertificateEntry {
  label: string;
  id: string;
  subject: string;
  issuer: string;
  /** ISO 8601 end of validity. */
  notAfter: string;
  uri: string;
}

export interface TokenObjects {
  /** False when only public objects could be seen (no PIN, or another token was logged in to). */
  loggedIn: boolean;
  keys: KeyEntry[];
  certificates: CertificateEntry[];
}

export interface TokenEntry {
  label: string;
  serial: string;
  manufacturer: string;
  model: string;
  initialized: boolean;
  loginRequired: boolean;
  pin: PinFlags;
  /** Set when the PIN flags cannot be trusted (tpm2-pkcs11). */
  pinNote?: string;
  objects?: TokenObjects;
  /** Why the objects could not be listed. */
  objectsError?: string;
}

export interface SlotEntryListing {
  slotId: number;
  description: string;
  manufacturer: string;
  token?: TokenEntry;
}

export interface Inventory {
  module: { path: string; manufacturer: string; description: string; version: string; tpm: boolean };
  slots: SlotEntryListing[];
}

export interface InventoryOptions {
  /** The token to log in to, and its PIN: its private keys are listed too. */
  login?: { uri: Pkcs11Uri; pin: Pin } | undefined;
}

const hexOf = (value: Buffer | undefined): string => value?.toString('hex') ?? '';

function byLabelThenId<T extends { label: string; id: string }>(a: T, b: T): number {
  return a.label.localeCompare(b.label) || a.id.localeCompare(b.id);
}

function listKeys(session: Session, token: SlotToken, keyClass: 'private' | 'public'): KeyEntry[] {
  const objects = session.findObjects([{ type: ck.CKA_CLASS, value: keyClass === 'private' ? ck.CKO_PRIVATE_KEY : ck.CKO_PUBLIC_KEY }]);
  return objects.map((object: Handle) => {
    const values = session.attributes(object, [ck.CKA_LABEL, ck.CKA_ID]);
    const label = asText(values.get(ck.CKA_LABEL)) ?? '';
    const id = values.get(ck.CKA_ID);
    const protection = keyClass === 'private' ? keyProtection(session, object) : {};
    return {
      class: keyClass,
      label,
      id: hexOf(id),
      ...keyFacts(session, object),
      ...protection,
      uri: formatPkcs11Uri({ token: token.label, object: label, ...(id ? { id } : {}), type: keyClass }),
    };
  });
}

function listCertificates(session: Session, token: SlotToken): CertificateEntry[] {
  return session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_CERTIFICATE }]).map((object) => {
    const values = session.attributes(object, [ck.CKA_LABEL, ck.CKA_ID, ck.CKA_VALUE]);
    const label = asText(values.get(ck.CKA_LABEL)) ?? '';
    const id = values.get(ck.CKA_ID);
    const der = values.get(ck.CKA_VALUE);
    let described = { subject: '(not an X.509 certificate)', issuer: '', notAfter: '' };
    try {
      if (der) {
        const certificate = new X509Certificate(der);
        described = {
          subject: certificate.subject.replace(/\n/g, ', '),
          issuer: certificate.issuer.replace(/\n/g, ', '),
          notAfter: new Date(certificate.validTo).toISOString(),
        };
      }
    } catch {
      // Described as not a certificate: one odd object must not hide the others.
    }
    return { label, id: hexOf(id), ...described, uri: formatPkcs11Uri({ token: token.label, object: label, ...(id ? { id } : {}), type: 'cert' }) };
  });
}

function listObjects(session: Session, token: SlotToken, loggedIn: boolean): TokenObjects {
  return {
    loggedIn,
    keys: [...(loggedIn ? listKeys(session, token, 'private') : []), ...listKeys(session, token, 'public')].sort(byLabelThenId),
    certificates: listCertificates(session, token).sort(byLabelThenId),
  };
}

function describeToken(module: Pkcs11Module, token: SlotToken, login: InventoryOptions['login'], tpm: boolean): TokenEntry {
  const { initialized } = token;
  const entry: TokenEntry = {
    label: token.label,
    serial: token.serial,
    manufacturer: token.manufacturer,
    model: token.model,
    initialized,
    loginRequired: (token.flags & ck.CKF_LOGIN_REQUIRED) !== 0,
    pin: pinFlags(token.flags),
    ...(tpm ? { pinNote: TPM_PIN_FLAGS_NOTE } : {}),
  };
  if (!initialized) return entry;
  try {
    const session = module.openSession(token.slot);
    try {
      if (login) loginOnce(module, token, session, login.pin);
      entry.objects = listObjects(session, token, login !== undefined);
    } finally {
      session.close();
    }
  } catch (error) {
    // The token the user logs in to must answer (a refused PIN is the result);
    // another token that fails must not hide the rest of the listing.
    if (login) throw error;
    entry.objectsError = tokenError(error, 'listing its objects').message;
  }
  return entry;
}

/** Lists the module's slots and tokens; logs in only to the token options.login selects. */
export function takeInventory(module: Pkcs11Module, options: InventoryOptions = {}): Inventory {
  const info = module.info();
  const tpm = isTpm2Module(info);
  const loginTo = options.login ? selectToken(module, options.login.uri) : undefined;
  const slots = module.slots().map((slot): SlotEntryListing => ({
    slotId: slot.slotId,
    description: slot.slotDescription,
    manufacturer: slot.slotManufacturer,
    ...(slot.token ? { token: describeToken(module, slot.token, loginTo?.slotId === slot.slotId ? options.login : undefined, tpm) } : {}),
  }));
  return { module: { path: module.path, ...info, tpm }, slots };
}

/** The token a PIN belongs to when none is named: the only initialized one, else none. */
export function soleInitializedToken(module: Pkcs11Module): Pkcs11Uri | undefined {
  const initialized = module.tokens().filter((token) => token.initialized);
  const [only] = initialized;
  return initialized.length === 1 && only ? { token: only.label, serial: only.serial } : undefined;
}
