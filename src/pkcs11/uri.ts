/**
 * RFC 7512 PKCS#11 URIs, parsed and printed. Pure: no module is loaded here.
 *
 * Unknown standard attributes are refused rather than ignored, so a typo
 * ("objet=") cannot silently widen which key is used. `pin-value` is refused
 * too: a PIN inside a URI ends up in argv, shell history and logs.
 */
import { TrustlinkError } from '../errors.js';

export const OBJECT_TYPES = ['public', 'private', 'cert', 'secret-key', 'data'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  libraryVersion?: string;
  slotDescription?: string;
  slotManufacturer?: string;
  slotId?: number;
  object?: string;
  type?: ObjectType;
  /** CKA_ID as raw bytes. */
  id?: Buffer;
  modulePath?: string;
  moduleName?: string;
  /** Where the PIN is read from (a file path; "file:" prefix allowed). */
  pinSource?: string;
}

type TextKey = Exclude<keyof Pkcs11Uri, 'slotId' | 'type' | 'id'>;

const PATH_TEXT: Record<string, TextKey> = {
  token: 'token',
  manufacturer: 'manufacturer',
  serial: 'serial',
  model: 'model',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
  'library-version': 'libraryVersion',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
  object: 'object',
};
const QUERY_TEXT: Record<string, TextKey> = {
  'module-path': 'modulePath',
  'module-name': 'moduleName',
  'pin-source': 'pinSource',
};

function invalid(uri: string, problem: string): TrustlinkError {
  return new TrustlinkError('PKCS11_URI_INVALID', `invalid PKCS#11 URI "${redactPin(uri)}": ${problem}`, {
    hint: 'see RFC 7512, e.g. pkcs11:token=dev;object=devkey;type=private',
  });
}

/** Never echo a PIN that someone put into a URI by mistake. */
function redactPin(uri: string): string {
  return uri.replace(/(pin-value=)[^&;]*/gi, '$1[redacted]');
}

function decodeBytes(uri: string, value: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === '%') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw invalid(uri, `bad percent-encoding "%${hex}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

function decodeText(uri: string, value: string): string {
  const bytes = decodeBytes(uri, value);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD')) throw invalid(uri, `"${value}" is not UTF-8 after percent-decoding`);
  return text;
}

function splitAttributes(uri: string, part: string, separator: string): Array<[string, string]> {
  if (part === '') return [];
  return part.split(separator).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalid(uri, `"${pair}" is not NAME=VALUE`);
    return [pair.slice(0, eq).toLowerCase(), pair.slice(eq + 1)];
  });
}

function assignPath(uri: string, result: Pkcs11Uri, name: string, raw: string): void {
  const textKey = PATH_TEXT[name];
  if (textKey) {
    result[textKey] = decodeText(uri, raw);
  } else if (name === 'id') {
    result.id = decodeBytes(uri, raw);
  } else if (name === 'type') {
    const type = decodeText(uri, raw);
    if (!(OBJECT_TYPES as readonly string[]).includes(type)) {
      throw invalid(uri, `type "${type}" is not one of ${OBJECT_TYPES.join(', ')}`);
    }
    result.type = type as ObjectType;
  } else if (name === 'slot-id') {
    const slot = decodeText(uri, raw);
    if (!/^\d+$/.test(slot)) throw invalid(uri, `slot-id "${slot}" is not a decimal number`);
    result.slotId = Number(slot);
  } else if (!name.startsWith('x-')) {
    throw invalid(uri, `unknown attribute "${name}"`);
  }
}

function assignQuery(uri: string, result: Pkcs11Uri, name: string, raw: string): void {
  if (name === 'pin-value') {
    throw invalid(uri, 'pin-value is not accepted (a PIN in a URI leaks into argv and logs)');
  }
  const textKey = QUERY_TEXT[name];
  if (textKey) result[textKey] = decodeText(uri, raw);
  else if (!name.startsWith('x-')) throw invalid(uri, `unknown query attribute "${name}"`);
}

export function isPkcs11Uri(text: string): boolean {
  return text.toLowerCase().startsWith('pkcs11:');
}

export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!isPkcs11Uri(uri)) throw invalid(uri, 'it does not start with "pkcs11:"');
  const body = uri.slice('pkcs11:'.length);
  const queryAt = body.indexOf('?');
  const path = queryAt === -1 ? body : body.slice(0, queryAt);
  const query = queryAt === -1 ? '' : body.slice(queryAt + 1);

  const result: Pkcs11Uri = {};
  const seen = new Set<string>();
  const once = (name: string): void => {
    if (seen.has(name)) throw invalid(uri, `attribute "${name}" appears twice`);
    seen.add(name);
  };
  for (const [name, raw] of splitAttributes(uri, path, ';')) {
    once(name);
    assignPath(uri, result, name, raw);
  }
  for (const [name, raw] of splitAttributes(uri, query, '&')) {
    once(name);
    assignQuery(uri, result, name, raw);
  }
  if (result.pinSource?.startsWith('file:')) result.pinSource = result.pinSource.slice('file:'.length);
  return result;
}

// RFC 7512 pchar minus the separators: what may stand unencoded in a value.
const UNRESERVED = /[A-Za-z0-9\-._~!$'()*+,=:@&]/;

function encodeValue(value: string | Buffer, encodeAll: boolean): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const byte of bytes) {
    const ch = String.fromCharCode(byte);
    out += !encodeAll && byte < 0x80 && UNRESERVED.test(ch) ? ch : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Prints a URI that selects one object, for users to paste into --key or --cert. */
export function formatPkcs11Uri(parts: Pick<Pkcs11Uri, 'token' | 'object' | 'type' | 'id'>): string {
  const attributes: string[] = [];
  if (parts.token !== undefined) attributes.push(`token=${encodeValue(parts.token, false)}`);
  if (parts.object !== undefined) attributes.push(`object=${encodeValue(parts.object, false)}`);
  if (parts.id !== undefined && parts.id.length > 0) attributes.push(`id=${encodeValue(parts.id, true)}`);
  if (parts.type !== undefined) attributes.push(`type=${parts.type}`);
  return `pkcs11:${attributes.join(';')}`;
}
