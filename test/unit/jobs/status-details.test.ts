import { describe, expect, it } from 'vitest';
import { detailValue, MAX_DETAIL_VALUE, statusDetails, withoutUrl } from '../../../src/jobs/status-details.js';

describe('statusDetails within AWS limits', () => {
  it('keeps the tail of long output, 1024 characters, never splitting a character', () => {
    const long = `${'x'.repeat(5000)}é🙂end`;
    const value = detailValue(long);
    expect(Array.from(value)).toHaveLength(MAX_DETAIL_VALUE);
    expect(value.startsWith('…')).toBe(true);
    expect(value.endsWith('é🙂end')).toBe(true);
  });

  it('turns line breaks and control characters into printable text', () => {
    expect(detailValue('one\r\ntwo\nthree\t\u0007four\n')).toBe('one | two | three  four');
    expect(/\p{C}/u.test(detailValue('a\u0000b\u001bc'))).toBe(false);
  });

  it('drops empty values and keys AWS refuses', () => {
    expect(statusDetails({ reason: 'ok', stderr: '', stdout: undefined, 'bad key': 'x', 'k:ok_1-2': 'v' })).toEqual({ reason: 'ok', 'k:ok_1-2': 'v' });
  });
});

it('cuts a presigned URL an updater echoed out of the details', () => {
  const url = 'https://b.s3.amazonaws.com/i.raucb?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123';
  expect(withoutUrl(`fetching ${url} failed\nretry https://b/i?X-Amz-Signature=zzz&x=1`, url))
    .toBe('fetching <image URL> failed\nretry https://b/i?X-Amz-Signature=[redacted]&x=1');
});
