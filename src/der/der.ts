/**
 * The little DER (ITU-T X.690) that a connection needs, read and written
 * here rather than through node:crypto, whose load alone costs a one-shot
 * command ~3 ms of its start (issue 17): the validity and public key of the
 * device certificate, and the SubjectPublicKeyInfo of a token key. Definite
 * lengths and single-byte tags only, which is all DER certificates use.
 */

/** One element: its tag, and where its header, contents and end are in the buffer. */
export interface Element {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

export class DerError extends Error {}

export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  null: 0x05,
  oid: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
} as const;

/** The element that starts at `offset` and ends at or before `limit`. */
export function readElement(der: Buffer, offset = 0, limit = der.length): Element {
  if (offset + 2 > limit) throw new DerError(`DER ends inside an element header at byte ${offset}`);
  const tag = der[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte DER tag at byte ${offset}`);
  const first = der[offset + 1] as number;
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const bytes = first & 0x7f;
    if (bytes === 0 || bytes > 4) throw new DerError(`unsupported DER length form at byte ${offset}`);
    if (contentStart + bytes > limit) throw new DerError(`DER ends inside a length at byte ${offset}`);
    length = der.readUIntBE(contentStart, bytes);
    contentStart += bytes;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`DER element at byte ${offset} runs past its container`);
  return { tag, start: offset, contentStart, end };
}

/** The elements inside a constructed element (a SEQUENCE, a [n] wrapper), in order. */
export function childrenOf(der: Buffer, parent: Element): Element[] {
  const children: Element[] = [];
  for (let offset = parent.contentStart; offset < parent.end;) {
    const child = readElement(der, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** An element with its header: tag, definite length, then the contents. */
export function encodeElement(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const length = body.length;
  if (length < 0x80) return Buffer.concat([Buffer.from([tag, length]), body]);
  const lengthBytes = Buffer.alloc(4);
  lengthBytes.writeUInt32BE(length);
  const significant = lengthBytes.subarray(lengthBytes.findIndex((byte) => byte !== 0));
  return Buffer.concat([Buffer.from([tag, 0x80 | significant.length]), significant, body]);
}

/** A non-negative INTEGER from its big-endian magnitude (PKCS#11's CKA_MODULUS and the like). */
export function encodeUnsignedInteger(magnitude: Buffer): Buffer {
  const firstSet = magnitude.findIndex((byte) => byte !== 0);
  const minimal = firstSet === -1 ? Buffer.from([0]) : magnitude.subarray(firstSet);
  // A set top bit would read as negative.
  return encodeElement(TAG.integer, ((minimal[0] as number) & 0x80) !== 0 ? Buffer.from([0]) : Buffer.alloc(0), minimal);
}
