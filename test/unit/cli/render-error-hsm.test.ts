/** One render test per error code that trustlink hsm added. */
import { describe, expect, it } from 'vitest';
import { renderError } from '../../../src/cli/render-error.js';
import { TrustlinkError, type ErrorCode } from '../../../src/errors.js';

function rendered(code: ErrorCode, json: boolean): { text: string; exit: number } {
  let text = '';
  const stream = { write: (chunk: string) => { text += chunk; return true; } } as unknown as NodeJS.WritableStream;
  const exit = renderError(new TrustlinkError(code, 'what failed', { hint: 'what to do' }), { json, debug: false }, stream);
  return { text, exit };
}

describe.each([
  ['CERT_EXISTS', 78],
  ['CERT_NOT_FOUND', 78],
] as Array<[ErrorCode, number]>)('%s', (code, exit) => {
  it(`renders one line with its hint and exits ${exit}`, () => {
    expect(rendered(code, false)).toEqual({ text: `trustlink: what failed [${code}]\n  hint: what to do\n`, exit });
    expect(JSON.parse(rendered(code, true).text)).toEqual({ error: { code, message: 'what failed', hint: 'what to do', exitCode: exit } });
  });
});
