import { describe, expect, it } from 'vitest';
import { describeEndpoint, parseCredentialsEndpoint } from '../../../src/credentials/endpoint.js';

describe('parseCredentialsEndpoint', () => {
  it.each([
    ['abc.credentials.iot.eu-west-1.amazonaws.com', 'abc.credentials.iot.eu-west-1.amazonaws.com', 443],
    ['localhost:8443', 'localhost', 8443],
    ['https://abc.credentials.iot.eu-west-1.amazonaws.com/', 'abc.credentials.iot.eu-west-1.amazonaws.com', 443],
    ['127.0.0.1:443', '127.0.0.1', 443],
    ['[::1]:9443', '::1', 9443],
  ])('%s → %s port %i', (text, host, port) => {
    expect(parseCredentialsEndpoint(text)).toEqual({ host, port });
  });

  it.each(['', 'http://host', 'host/role-aliases', 'host:0', 'host:', 'host:70000', 'user@host', 'two words'])('refuses "%s" as a usage error', (text) => {
    expect(() => parseCredentialsEndpoint(text)).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringContaining('iot:CredentialProvider') }));
  });

  it('writes IPv6 hosts in brackets', () => {
    expect(describeEndpoint({ host: '::1', port: 9443 })).toBe('[::1]:9443');
    expect(describeEndpoint({ host: 'localhost', port: 443 })).toBe('localhost:443');
  });
});
