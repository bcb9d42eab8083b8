import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findPin, requirePin } from '../../../src/pkcs11/secret.js';
import { makeTempDir } from '../../helpers/paths.js';

const temp = makeTempDir('secret');
afterAll(() => temp.remove());
const pinFile = join(temp.path, 'pin');
writeFileSync(pinFile, '4321\n', { mode: 0o600 });
const credentials = join(temp.path, 'creds');
(await import('node:fs')).mkdirSync(credentials);
writeFileSync(join(credentials, 'pin'), '5555', { mode: 0o400 });

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
    writeFileSync(empty, '\n', { mode: 0o600 });
    expect(() => findPin({ pinFile: empty, env: {} })).toThrow(/is empty/);
    expect(() => requirePin({ env: {} })).toThrow(/needs a PIN and none was given/);
  });

  it('refuses a PIN file any user may read or write, and a symlink to one, without reading it', () => {
    const open = join(temp.path, 'open-pin');
    writeFileSync(open, '1234\n', { mode: 0o600 });
    chmodSync(open, 0o644);
    expect(() => findPin({ pinFile: open, env: {} })).toThrow(/may be read or written by any user \(mode 644\)/);
    const link = join(temp.path, 'linked-pin');
    symlinkSync(open, link);
    expect(() => findPin({ pinFile: link, env: {} })).toThrow(/mode 644/);
    chmodSync(open, 0o602);
    expect(() => findPin({ pinFile: open, env: {} })).toThrow(/mode 602/);
  });

  it('takes a PIN file its group may read (0640, the service group)', () => {
    const grouped = join(temp.path, 'group-pin');
    writeFileSync(grouped, '2468', { mode: 0o600 });
    chmodSync(grouped, 0o640);
    expect(findPin({ pinFile: grouped, env: {} })?.reveal()).toBe('2468');
  });
});
