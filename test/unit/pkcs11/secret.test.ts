import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findPin, requirePin } from '../../../src/pkcs11/secret.js';
import { makeTempDir } from '../../helpers/paths.js';

const temp = makeTempDir('secret');
afterAll(() => temp.remove());
const pinFile = join(temp.path, 'pin');
writeFileSync(pinFile, '4321\n');
const credentials = join(temp.path, 'creds');
(await import('node:fs')).mkdirSync(credentials);
writeFileSync(join(credentials, 'pin'), '5555');

describe('findPin', () => {
  it('prefers the pin file, then TRUSTLINK_PIN, then the systemd credential', () => {
    const env = { TRUSTLINK_PIN: '1111', CREDENTIALS_DIRECTORY: credentials };
    expect(findPin({ pinFile, env })?.reveal()).toBe('4321');
    expect(findPin({ env })?.reveal()).toBe('1111');
    expect(findPin({ env: { CREDENTIALS_DIRECTORY: credentials } })?.reveal()).toBe('5555');
    expect(findPin({ env: {} })).toBeUndefined();
  });

  it('says where the PIN came from', () => {
    expect(findPin({ pinFile, env: {} })?.source).toBe(`file ${pinFile}`);
    expect(findPin({ env: { CREDENTIALS_DIRECTORY: credentials } })?.source).toBe('systemd credential pin');
  });

  it('never prints the PIN', () => {
    const pin = findPin({ pinFile, env: {} });
    expect(`${pin}`).toBe('[redacted PIN]');
    expect(JSON.stringify({ pin })).toBe('{"pin":"[redacted PIN]"}');
    expect(inspect(pin)).not.toContain('4321');
  });

  it('reports an unreadable or empty pin file, and no PIN at all', () => {
    expect(() => findPin({ pinFile: join(temp.path, 'none'), env: {} })).toThrow(/cannot read the PIN file .*none: ENOENT/);
    const empty = join(temp.path, 'empty');
    writeFileSync(empty, '\n');
    expect(() => findPin({ pinFile: empty, env: {} })).toThrow(/is empty/);
    expect(() => requirePin({ env: {} })).toThrow(/needs a PIN and none was given/);
  });
});
