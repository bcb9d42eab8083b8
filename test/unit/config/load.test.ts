import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { envName } from '../../../src/config/schema.js';
import type { TrustlinkError } from '../../../src/errors.js';
import { makeTempDir } from '../../helpers/paths.js';

const temp = makeTempDir('config');
afterAll(() => temp.remove());

function configFile(name: string, content: string): string {
  const file = join(temp.path, name);
  writeFileSync(file, content);
  return file;
}

function loadError(run: () => unknown): TrustlinkError {
  try {
    run();
  } catch (error) {
    return error as TrustlinkError;
  }
  throw new Error('no error');
}

const noDefaultFile = join(temp.path, 'absent.json');

describe('loadConfig', () => {
  it('fills defaults when nothing is set', () => {
    const { config, file } = loadConfig({ env: {}, flags: {}, defaultFile: noDefaultFile });
    expect(file).toBeUndefined();
    expect(config).toMatchObject({ auth: 'mtls', mqttVersion: '5', keepAliveSeconds: 300, logLevel: 'info', connectTimeoutMs: 10_000 });
  });

  it('layers flags over environment over file', () => {
    const file = configFile('layers.json', JSON.stringify({ endpoint: 'from-file', port: 1, clientId: 'file-id', thingName: 'file-thing' }));
    const { config } = loadConfig({
      file,
      env: { TRUSTLINK_PORT: '2', TRUSTLINK_CLIENT_ID: 'env-id' },
      flags: { port: 3, endpoint: undefined },
    });
    expect(config).toMatchObject({ endpoint: 'from-file', port: 3, clientId: 'env-id', thingName: 'file-thing' });
  });

  it('reads the default file only when it exists, and TRUSTLINK_CONFIG names another', () => {
    const defaultFile = configFile('default.json', '{"endpoint":"default"}');
    const named = configFile('named.json', '{"endpoint":"named"}');
    expect(loadConfig({ env: {}, flags: {}, defaultFile }).config.endpoint).toBe('default');
    expect(loadConfig({ env: { TRUSTLINK_CONFIG: named }, flags: {}, defaultFile }).config.endpoint).toBe('named');
  });

  it('turns environment strings into numbers and lists by the key type', () => {
    const { config } = loadConfig({ env: { TRUSTLINK_KEEP_ALIVE_SECONDS: '60', TRUSTLINK_ALPN: 'x-amzn-mqtt-ca, mqtt' }, flags: {}, defaultFile: noDefaultFile });
    expect(config.keepAliveSeconds).toBe(60);
    expect(config.alpn).toEqual(['x-amzn-mqtt-ca', 'mqtt']);
  });

  it('reads booleans and auth settings from the environment', () => {
    const { config } = loadConfig({ env: { TRUSTLINK_AUTH: 'custom', TRUSTLINK_WEBSOCKET: 'true', TRUSTLINK_COGNITO_LOGINS: 'a=b, c=@/f' }, flags: {}, defaultFile: noDefaultFile });
    expect(config).toMatchObject({ auth: 'custom', websocket: true, cognitoLogins: ['a=b', 'c=@/f'] });
    expect(() => loadConfig({ env: { TRUSTLINK_WEBSOCKET: 'yes' }, flags: {}, defaultFile: noDefaultFile })).toThrow(/TRUSTLINK_WEBSOCKET/);
  });

  it('names environment variables after the keys', () => {
    expect(envName('caFile')).toBe('TRUSTLINK_CA_FILE');
    expect(envName('pkcs11Module')).toBe('TRUSTLINK_PKCS11_MODULE');
  });

  it('reports every bad key of a file with its line', () => {
    const file = configFile('bad.json', '{\n  "port": 0,\n  "clientId": "$aws/x",\n  "logLevel": "loud",\n  "colour": "red"\n}');
    const error = loadError(() => loadConfig({ file, env: {}, flags: {} }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`config file ${file}: `);
    expect(error.message).toMatch(/port: .*\(line 2\)/);
    expect(error.message).toMatch(/clientId: must not start with "\$" \(reserved by AWS IoT\) \(line 3\)/);
    expect(error.message).toMatch(/logLevel: must be one of debug, info, warn, error \(line 4\)/);
    expect(error.message).toMatch(/unknown key "colour" \(line 5\)/);
  });

  it('points at the line and column of a JSON syntax error', () => {
    const file = configFile('syntax.json', '{\n  "port": 1\n  "endpoint": "x"\n}');
    const error = loadError(() => loadConfig({ file, env: {}, flags: {} }));
    expect(error.message).toMatch(new RegExp(`config file ${file}, line 3, column 3: not valid JSON`));
  });

  it('refuses a top level that is not an object', () => {
    const file = configFile('array.json', '[1]');
    expect(loadError(() => loadConfig({ file, env: {}, flags: {} })).message).toMatch(/top level must be a JSON object/);
  });

  it('names the environment variable with the bad value', () => {
    const error = loadError(() => loadConfig({ env: { TRUSTLINK_MQTT_VERSION: '4' }, flags: {}, defaultFile: noDefaultFile }));
    expect(error.message).toBe('environment variable TRUSTLINK_MQTT_VERSION: mqttVersion: must be "5" or "3.1.1"');
  });

  it('reports an unreadable file as such', () => {
    const error = loadError(() => loadConfig({ file: join(temp.path, 'missing.json'), env: {}, flags: {} }));
    expect(error.code).toBe('CONFIG_UNREADABLE');
  });
});
