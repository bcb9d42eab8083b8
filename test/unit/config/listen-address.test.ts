import { describe, expect, it } from 'vitest';
import { describeListenAddressProblem, formatListenAddress, parseListenAddress } from '../../../src/config/listen-address.js';

describe('listen addresses', () => {
  it.each([
    ['unix:/run/trustlink/mqtt.sock', { kind: 'unix', path: '/run/trustlink/mqtt.sock' }],
    ['tcp://127.0.0.1:1883', { kind: 'tcp', host: '127.0.0.1', port: 1883 }],
    ['tcp://[::1]:1883', { kind: 'tcp', host: '::1', port: 1883 }],
  ])('accepts %s', (address, parsed) => {
    expect(parseListenAddress(address)).toEqual(parsed);
    expect(formatListenAddress(parseListenAddress(address))).toBe(address);
  });

  it.each([
    ['tcp://0.0.0.0:1883', 'only loopback addresses'],
    ['tcp://192.168.1.10:1883', 'runs its own broker'],
    ['tcp://[::]:1883', 'only loopback addresses'],
    ['unix:relative.sock', 'absolute path'],
    ['mqtt://127.0.0.1:1883', 'must be unix:/PATH'],
    ['tcp://127.0.0.1:70000', 'port must be 1-65535'],
  ])('refuses %s', (address, words) => {
    expect(describeListenAddressProblem(address)).toContain(words);
    expect(() => parseListenAddress(address)).toThrow(words);
  });
});
