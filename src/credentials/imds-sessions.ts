/**
 * IMDSv2 session tokens: handed out by PUT /latest/api/token for a TTL of
 * 1-21600 seconds, required on every metadata GET. Bounded in number, so a
 * local program asking in a loop cannot grow the server without end.
 */
import { randomBytes } from 'node:crypto';

export const MAX_TTL_SECONDS = 21_600;
const MAX_SESSIONS = 10_000;

export class ImdsSessions {
  readonly #expiries = new Map<string, number>();

  /** The TTL header's value in seconds, or undefined when it is not 1-21600. */
  static parseTtl(header: string | string[] | undefined): number | undefined {
    if (typeof header !== 'string' || !/^\d{1,5}$/.test(header.trim())) return undefined;
    const ttl = Number(header.trim());
    return ttl >= 1 && ttl <= MAX_TTL_SECONDS ? ttl : undefined;
  }

  issue(ttlSeconds: number, now: number = Date.now()): string {
    if (this.#expiries.size >= MAX_SESSIONS) this.#prune(now);
    const token = randomBytes(32).toString('base64url');
    this.#expiries.set(token, now + ttlSeconds * 1000);
    return token;
  }

  isValid(token: string | string[] | undefined, now: number = Date.now()): boolean {
    if (typeof token !== 'string') return false;
    const expiry = this.#expiries.get(token);
    if (expiry === undefined) return false;
    if (expiry <= now) {
      this.#expiries.delete(token);
      return false;
    }
    return true;
  }

  /** Drops expired tokens, then the oldest (Maps iterate in insertion order) until there is room. */
  #prune(now: number): void {
    for (const [token, expiry] of this.#expiries) if (expiry <= now) this.#expiries.delete(token);
    for (const token of this.#expiries.keys()) {
      if (this.#expiries.size < MAX_SESSIONS) break;
      this.#expiries.delete(token);
    }
  }
}
