import { describe, expect, it } from 'vitest';
import { alpnFor } from '../../../src/connection/alpn.js';

describe('alpnFor', () => {
  it('offers x-amzn-mqtt-ca on 443, as AWS IoT requires for MQTT over mTLS there', () => {
    expect(alpnFor(443, undefined)).toEqual(['x-amzn-mqtt-ca']);
  });

  it('offers nothing on 8883 or other ports', () => {
    expect(alpnFor(8883, undefined)).toEqual([]);
    expect(alpnFor(18883, undefined)).toEqual([]);
  });

  it('uses the configured list when there is one (a proxy that maps 443 elsewhere)', () => {
    expect(alpnFor(9443, ['x-amzn-mqtt-ca'])).toEqual(['x-amzn-mqtt-ca']);
    expect(alpnFor(443, [])).toEqual([]);
  });
});
