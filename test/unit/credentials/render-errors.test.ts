import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { renderError } from '../../../src/cli/render-error.js';
import { TrustlinkError, type ErrorCode } from '../../../src/errors.js';

function rendered(error: TrustlinkError, json: boolean): { text: string; exitCode: number } {
  const stream = new PassThrough();
  const exitCode = renderError(error, { json, debug: false }, stream);
  return { text: stream.read()?.toString() ?? '', exitCode };
}

describe('the credentials error codes render once, with their exit status', () => {
  it.each([
    ['CREDENTIALS_REFUSED', 77],
    ['CREDENTIALS_THROTTLED', 69],
    ['CREDENTIALS_UNAVAILABLE', 69],
    ['CREDENTIALS_INVALID', 76],
  ] as Array<[ErrorCode, number]>)('%s → exit %i', (code, exitCode) => {
    const error = new TrustlinkError(code, 'what went wrong', { hint: 'what to do' });
    expect(rendered(error, false)).toEqual({ text: `trustlink: what went wrong [${code}]\n  hint: what to do\n`, exitCode });
    expect(JSON.parse(rendered(error, true).text)).toEqual({ error: { code, message: 'what went wrong', hint: 'what to do', exitCode } });
  });
});
