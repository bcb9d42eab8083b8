/**
 * Checks a SigV4-presigned websocket upgrade the way AWS IoT does: the
 * credential scope (region, service iotdevicegateway), a known access key,
 * its session token (sent outside the signature) and expiry, the clock skew,
 * and the signature itself, recomputed with @smithy/signature-v4 (an
 * implementation independent of the aws-c-auth signer the client uses).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { getSigningKey, SignatureV4Base } from '@smithy/signature-v4';
import type { HttpRequest, SourceData } from '@smithy/types';

export interface KnownCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface SigV4Policy {
  region: string;
  lookup(accessKeyId: string): KnownCredentials | undefined;
  now(): Date;
}

export type SigV4Outcome = { ok: true; accessKeyId: string } | { ok: false; reason: string; accessKeyId?: string };

export const SERVICE = 'iotdevicegateway';
const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses requests dated more than 5 minutes from its clock. */
const MAX_SKEW_MS = 5 * 60_000;
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

const toBytes = (data: SourceData): Uint8Array | string =>
  typeof data === 'string' || data instanceof Uint8Array ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

/** smithy's hash interface over node:crypto. */
class NodeSha256 {
  readonly #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

/** Exposes smithy's canonical request and string to sign for a request someone else signed. */
class PresignedRequestCheck extends SignatureV4Base {
  constructor(region: string, credentials: KnownCredentials) {
    super({ service: SERVICE, region, credentials, sha256: NodeSha256 });
  }

  async expectedSignature(request: HttpRequest, signedHeaders: string[], longDate: string, shortDate: string, scope: string, credentials: KnownCredentials, region: string): Promise<string> {
    const canonicalHeaders = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name] ?? '').trim()]));
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, EMPTY_SHA256);
    const stringToSign = await this.createStringToSign(longDate, scope, canonicalRequest, ALGORITHM);
    const key = await getSigningKey(NodeSha256, credentials, shortDate, region, SERVICE);
    return createHmac('sha256', key).update(stringToSign).digest('hex');
  }
}

function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  return new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
}

export async function verifyPresignedUpgrade(method: string, url: URL, headers: Record<string, string | string[] | undefined>, policy: SigV4Policy): Promise<SigV4Outcome> {
  const query = url.searchParams;
  const credential = query.get('X-Amz-Credential') ?? '';
  const [accessKeyId, shortDate, region, service, terminator] = credential.split('/');
  if (query.get('X-Amz-Algorithm') !== ALGORITHM || !accessKeyId || terminator !== 'aws4_request') return { ok: false, reason: 'malformed SigV4 query' };
  if (service !== SERVICE) return { ok: false, reason: `wrong service ${service}`, accessKeyId };
  if (region !== policy.region) return { ok: false, reason: `wrong region ${region}`, accessKeyId };
  const known = policy.lookup(accessKeyId);
  if (known === undefined) return { ok: false, reason: 'unknown access key', accessKeyId };
  const now = policy.now();
  if (known.sessionToken !== undefined && query.get('X-Amz-Security-Token') !== known.sessionToken) return { ok: false, reason: 'session token missing or wrong', accessKeyId };
  if (known.expiration !== undefined && known.expiration <= now) return { ok: false, reason: 'expired credentials', accessKeyId };
  const longDate = query.get('X-Amz-Date') ?? '';
  const signedAt = parseAmzDate(longDate);
  if (signedAt === undefined || !longDate.startsWith(shortDate ?? '-')) return { ok: false, reason: 'bad X-Amz-Date', accessKeyId };
  if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_SKEW_MS) return { ok: false, reason: 'clock skew: X-Amz-Date too far from now', accessKeyId };
  const expires = query.get('X-Amz-Expires');
  if (expires !== null && signedAt.getTime() + Number(expires) * 1000 < now.getTime()) return { ok: false, reason: 'presigned URL expired', accessKeyId };

  // The token is added after signing: it is not part of the canonical request.
  const signed: Record<string, string> = {};
  for (const [key, value] of query) if (key !== 'X-Amz-Security-Token') signed[key] = value;
  const lowerHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(',') : value ?? '']));
  const request: HttpRequest = { method, protocol: 'https:', hostname: lowerHeaders.host ?? '', path: url.pathname, query: signed, headers: lowerHeaders };
  const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signedHeaders.includes('host')) return { ok: false, reason: 'host is not signed', accessKeyId };
  const scope = `${shortDate}/${region}/${SERVICE}/aws4_request`;
  const expected = await new PresignedRequestCheck(region, known).expectedSignature(request, signedHeaders, longDate, shortDate!, scope, known, region);
  const given = Buffer.from(query.get('X-Amz-Signature') ?? '', 'utf8');
  const matches = given.length === expected.length && timingSafeEqual(given, Buffer.from(expected, 'utf8'));
  return matches ? { ok: true, accessKeyId } : { ok: false, reason: 'signature does not match', accessKeyId };
}
