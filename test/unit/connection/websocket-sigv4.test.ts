import { describe, expect, it } from 'vitest';
import { regionFromEndpoint, requireRegion } from '../../../src/connection/websocket-sigv4.js';

describe('regionFromEndpoint', () => {
  it.each([
    ['a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com', 'eu-west-1'],
    ['A1B2C3-ATS.iot.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['abc-ats.iot.ap-southeast-2.amazonaws.com', 'ap-southeast-2'],
  ])('%s → %s', (endpoint, region) => expect(regionFromEndpoint(endpoint)).toBe(region));

  it.each(['localhost', 'abc.iot.eu-west-1.amazonaws.com', 'abc-ats.iot.eu-west-1.example.com', 'broker.example.com'])('%s has none', (endpoint) => {
    expect(regionFromEndpoint(endpoint)).toBeUndefined();
  });
});

describe('requireRegion', () => {
  it('prefers the configured region', () => expect(requireRegion('us-east-1', 'abc-ats.iot.eu-west-1.amazonaws.com')).toBe('us-east-1'));
  it('asks for --region when the endpoint carries none', () => expect(() => requireRegion(undefined, 'localhost')).toThrow(/--region is required/));
});
