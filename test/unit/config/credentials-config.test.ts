import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { makeTempDir } from '../../helpers/paths.js';

const temp = makeTempDir('config-creds');
afterAll(() => temp.remove());

function fileWith(content: unknown): string {
  const file = join(temp.path, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

describe('the credentials config object', () => {
  it('takes endpoint and roleAlias from the file, and lets a flag override one key only', () => {
    const file = fileWith({ thingName: 'thing-1', credentials: { endpoint: 'abc.credentials.iot.eu-west-1.amazonaws.com', roleAlias: 'old' } });
    const { config } = loadConfig({ file, env: {}, flags: { credentials: { endpoint: undefined, roleAlias: 'new' } } });
    expect(config.credentials).toEqual({ endpoint: 'abc.credentials.iot.eu-west-1.amazonaws.com', roleAlias: 'new' });
    expect(config.thingName).toBe('thing-1');
  });

  it('reads TRUSTLINK_CREDENTIALS as JSON', () => {
    const { config } = loadConfig({ env: { TRUSTLINK_CREDENTIALS: '{"roleAlias":"from-env"}' }, flags: {}, defaultFile: '/nonexistent' });
    expect(config.credentials).toEqual({ roleAlias: 'from-env' });
  });

  it('names the bad key, the file and its line', () => {
    const file = fileWith({ credentials: { endpoint: 'x', roleAlias: 'has space' } });
    expect(() => loadConfig({ file, env: {}, flags: {} })).toThrow(expect.objectContaining({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/credentials\.roleAlias: must be 1-128 of .* \(line 2\)/),
    }));
  });

  it('refuses unknown keys inside the object', () => {
    const file = fileWith({ credentials: { endpoint: 'x', role: 'y' } });
    expect(() => loadConfig({ file, env: {}, flags: {} })).toThrow(/unknown key "credentials.role"/);
  });

  it('refuses TRUSTLINK_CREDENTIALS that is not a JSON object', () => {
    expect(() => loadConfig({ env: { TRUSTLINK_CREDENTIALS: 'abc' }, flags: {}, defaultFile: '/nonexistent' })).toThrow(/environment variable TRUSTLINK_CREDENTIALS: credentials: /);
  });
});
