import { describe, expect, it } from 'vitest';
import { cleanText, credentialsFromDocument, providerFailure, parseProviderResponse, type ProviderResponse } from '../../../src/credentials/provider-response.js';

const now = new Date('2030-01-01T00:00:00Z');
const request = { endpoint: 'abc.credentials.iot.eu-west-1.amazonaws.com:443', roleAlias: 'uploader', thingName: 'thing-1' };
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=';
const good = { credentials: { accessKeyId: 'ASIAEXAMPLEEXAMPLE12', secretAccessKey: SECRET, sessionToken: TOKEN, expiration: '2030-01-01T01:00:00Z' } };

function answer(status: number, body: unknown, headers: Record<string, string> = {}): ProviderResponse {
  return { status, headers, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) };
}

describe('credentialsFromDocument', () => {
  it('returns the credentials of a well-formed document', () => {
    const credentials = credentialsFromDocument(good, 'the answer', now);
    expect(credentials).toEqual({ ...good.credentials, expiresAt: new Date('2030-01-01T01:00:00Z') });
  });

  it('accepts fractional seconds in the expiration', () => {
    const document = { credentials: { ...good.credentials, expiration: '2030-01-01T01:00:00.123Z' } };
    expect(credentialsFromDocument(document, 'x', now).expiresAt.toISOString()).toBe('2030-01-01T01:00:00.123Z');
  });

  it.each([
    ['no credentials object', {}, 'credentials is missing'],
    ['a missing session token', { credentials: { ...good.credentials, sessionToken: undefined } }, 'credentials.sessionToken is missing'],
    ['credentials that are a string', { credentials: 'x' }, 'credentials must be an object'],
    ['a short access key ID', { credentials: { ...good.credentials, accessKeyId: 'ASIA' } }, 'accessKeyId must be 16-128'],
    ['a secret with a space', { credentials: { ...good.credentials, secretAccessKey: `${SECRET} x` } }, 'secretAccessKey must be 1-1024 printable'],
    ['a numeric session token', { credentials: { ...good.credentials, sessionToken: 42 } }, 'sessionToken must be a string'],
    ['a local time expiration', { credentials: { ...good.credentials, expiration: '2030-01-01T01:00:00+01:00' } }, 'expiration must be an ISO-8601 UTC time'],
    ['an impossible date', { credentials: { ...good.credentials, expiration: '2030-13-45T01:00:00Z' } }, 'expiration is not a real date'],
    ['a number', 42, 'the answer must be a JSON object'],
    ['an array', [], 'credentials is missing'],
  ])('refuses %s with CREDENTIALS_INVALID, naming the field', (_, document, message) => {
    expect(() => credentialsFromDocument(document, 'the answer', now)).toThrow(expect.objectContaining({ code: 'CREDENTIALS_INVALID', message: expect.stringContaining(message) }));
  });

  it('never quotes a secret value in its message', () => {
    const document = { credentials: { ...good.credentials, accessKeyId: SECRET, sessionToken: `${TOKEN} with space` } };
    try {
      credentialsFromDocument(document, 'the answer', now);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET);
      expect((error as Error).message).not.toContain(TOKEN);
    }
  });

  it('refuses expired credentials and points at the clock', () => {
    const expired = { credentials: { ...good.credentials, expiration: '2029-12-31T23:59:59Z' } };
    expect(() => credentialsFromDocument(expired, 'the answer', now)).toThrow(expect.objectContaining({
      code: 'CREDENTIALS_INVALID',
      message: expect.stringContaining('expired at 2029-12-31T23:59:59Z'),
      hint: expect.stringContaining('clock'),
    }));
  });
});

describe('parseProviderResponse', () => {
  it('keeps the document as it came, unknown keys included', () => {
    const document = { ...good, extra: { future: true } };
    expect(parseProviderResponse(answer(200, document), request, now).document).toEqual(document);
  });

  it('refuses a 200 that is not JSON, saying what came', () => {
    expect(() => parseProviderResponse(answer(200, '<html>login</html>', { 'content-type': 'text/html' }), request, now)).toThrow(expect.objectContaining({
      code: 'CREDENTIALS_INVALID',
      message: expect.stringMatching(/not JSON \(18 bytes, content-type text\/html\)/),
    }));
  });
});

describe('providerFailure', () => {
  it.each([
    [400, 'InvalidRequestException', 'Unable to assume the role, or the role to assume does not exist', 'CREDENTIALS_REFUSED', /trusts credentials\.iot\.amazonaws\.com/],
    [401, 'UnauthorizedException', 'Unauthorized', 'CREDENTIALS_REFUSED', /registered with AWS IoT and ACTIVE/],
    [403, 'AccessDeniedException', 'Access Denied', 'CREDENTIALS_REFUSED', /iot:AssumeRoleWithCertificate on the role alias ARN \(arn:aws:iot:REGION:ACCOUNT:rolealias\/uploader\)/],
    [403, 'AccessDeniedException', 'Invalid thing name passed', 'CREDENTIALS_REFUSED', /not attached to thing "thing-1"/],
    [403, 'AccessDeniedException', 'Certificate is invalid on this endpoint', 'CREDENTIALS_REFUSED', /not valid on this endpoint/],
    [404, 'ResourceNotFoundException', 'Role alias does not exist', 'CREDENTIALS_REFUSED', /no role alias "uploader"/],
    [429, 'ThrottlingException', 'Rate exceeded', 'CREDENTIALS_THROTTLED', /try again later/],
    [500, 'InternalFailureException', 'Internal Failure', 'CREDENTIALS_UNAVAILABLE', /service is having trouble/],
    [503, 'ServiceUnavailableException', 'Service Unavailable', 'CREDENTIALS_UNAVAILABLE', /service is having trouble/],
  ])('%i %s "%s" → %s', (status, type, message, code, hint) => {
    const error = providerFailure(answer(status, { message }, { 'x-amzn-errortype': type }), request);
    expect(error.code).toBe(code);
    expect(error.message).toBe(`the credentials provider ${request.endpoint} answered ${status} for role alias "uploader" (${type}: ${message})`);
    expect(error.hint).toMatch(hint);
  });

  it('drops the URL AWS may append to x-amzn-ErrorType, and copes with a body that is not JSON', () => {
    const error = providerFailure(answer(403, 'Forbidden', { 'x-amzn-errortype': 'AccessDeniedException:http://internal.amazon.com/coral/' }), request);
    expect(error.message).toMatch(/answered 403 for role alias "uploader" \(AccessDeniedException\)$/);
  });

  it('says only the status when the answer has no details', () => {
    expect(providerFailure(answer(502, ''), request).message).toMatch(/answered 502 for role alias "uploader"$/);
  });
});

describe('cleanText', () => {
  it('makes one short line of untrusted text', () => {
    expect(cleanText('a\r\n\tb\u001b[31m  c')).toBe('a b [31m c');
    expect(cleanText('x'.repeat(400))).toHaveLength(300);
  });
});
