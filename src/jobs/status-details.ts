/**
 * statusDetails as AWS IoT Jobs accepts them: keys 1-128 of [a-zA-Z0-9:_-],
 * values 1-1024 characters with no control characters. Output tails are cut
 * to their last characters (as the Device Client does) rather than refused.
 */

export type StatusDetails = Record<string, string>;

export const MAX_DETAIL_VALUE = 1024;
const KEY = /^[a-zA-Z0-9:_-]{1,128}$/;

/** Line breaks become " | ", other control characters a space; the tail is kept. */
export function detailValue(text: string): string {
  const clean = text.trim().replace(/\r?\n/g, ' | ').replace(/\p{C}/gu, ' ');
  const chars = Array.from(clean);
  return chars.length <= MAX_DETAIL_VALUE ? clean : `…${chars.slice(-(MAX_DETAIL_VALUE - 1)).join('')}`;
}

/** Drops empty values and keys AWS would refuse; everything else fits. */
export function statusDetails(entries: Record<string, string | undefined>): StatusDetails {
  const details: StatusDetails = {};
  for (const [key, value] of Object.entries(entries)) {
    if (value === undefined || !KEY.test(key)) continue;
    const clean = detailValue(value);
    if (clean !== '') details[key] = clean;
  }
  return details;
}

/**
 * An updater may echo the presigned URL it was given: the URL (a credential) and any SigV4 query
 * parameter are cut out of its output before the tail is taken.
 */
export function withoutUrl(text: string, url: string): string {
  return text.split(url).join('<image URL>').replace(/(X-Amz-(?:Signature|Credential|Security-Token))=[^&\s]+/gi, '$1=[redacted]');
}
