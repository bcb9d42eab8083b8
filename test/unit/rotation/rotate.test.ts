import { describe, expect, it } from 'vitest';
import { newKeyLabel } from '../../../src/rotation/rotate.js';
import { parseRotatorCertificate, rotatorRejection, rotatorTopics } from '../../../src/rotation/rotator-api.js';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('newKeyLabel', () => {
  const now = new Date('2026-12-02T07:30:05.123Z');

  it('stamps the old label with the time', () => {
    expect(newKeyLabel('devkey', now)).toBe('devkey-r20261202073005');
  });

  it('replaces the stamp of a label that was rotated before, rather than adding a second', () => {
    expect(newKeyLabel('devkey-r20251202073005', now)).toBe('devkey-r20261202073005');
  });
});

describe('the certificate-rotator API', () => {
  it('names the per-thing topics', () => {
    expect(rotatorTopics('thing-1')).toEqual({ create: 'awslabs/things/thing-1/certificate/create', commit: 'awslabs/things/thing-1/certificate/commit' });
  });

  it('takes the certificate from an accepted create, and refuses an answer without one', () => {
    expect(parseRotatorCertificate(json({ certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' }))).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(() => parseRotatorCertificate(json({ errorMsg: 'x' }))).toThrow(expect.objectContaining({ code: 'PROVISION_ANSWER_INVALID' }));
    expect(() => parseRotatorCertificate(Buffer.from('{'))).toThrow(expect.objectContaining({ code: 'PROVISION_ANSWER_INVALID' }));
  });

  it('turns a rejection into ROTATION_REJECTED with the backend\'s errorMsg', () => {
    const error = rotatorRejection('commit', json({ errorMsg: 'Pre-conditions not met' }));
    expect(error).toMatchObject({ code: 'ROTATION_REJECTED', message: 'the certificate rotator backend rejected commit: Pre-conditions not met' });
    expect(rotatorRejection('create', Buffer.from('nope')).message).toContain('(not JSON)');
  });
});
