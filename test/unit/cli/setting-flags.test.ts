import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSettingFlags, describeSetting, settingsFromFlags } from '../../../src/cli/setting-flags.js';
import { SETTINGS } from '../../../src/config/schema.js';
import type { SettingGroup, SettingInfo } from '../../../src/config/setting.js';

function parsed(groups: SettingGroup[], argv: string[]): Command {
  const command = addSettingFlags(new Command('t').exitOverride().configureOutput({ writeErr: () => undefined }), groups);
  command.parse(argv, { from: 'user' });
  return command;
}

const allInfos = (): SettingInfo[] => Object.values(SETTINGS).flatMap(({ info }) => [info, ...Object.values((info as SettingInfo).entries ?? {})]);

describe('flags made from the schema', () => {
  it('gives every flag one key: no two keys share a flag name', () => {
    const flags = allInfos().map((info) => info.flag).filter((flag) => flag !== undefined);
    expect(new Set(flags).size).toBe(flags.length);
  });

  it('puts each flag value under its key, and keys inside an object under that object', () => {
    const command = parsed(['connection'], ['--cert', 'd.pem', '--keep-alive', '60', '--mqtt', '3.1.1', '--role-alias', 'r', '--cognito-login', 'a=1', '--cognito-login', 'b=2', '--alpn', 'x,y', '--websocket']);
    expect(settingsFromFlags(command, ['connection'])).toEqual({
      certFile: 'd.pem', keepAliveSeconds: 60, mqttVersion: '3.1.1', credentials: { roleAlias: 'r' }, cognitoLogins: ['a=1', 'b=2'], alpn: ['x', 'y'], websocket: true,
    });
  });

  it('leaves out what was not given, so the file and the environment still count', () => {
    expect(settingsFromFlags(parsed(['connection'], []), ['connection'])).toEqual({});
  });

  it('enforces the declared limits and choices as usage errors', () => {
    expect(() => parsed(['connection'], ['--keep-alive', '20'])).toThrow(CommanderError);
    expect(() => parsed(['connection'], ['--mqtt', '4'])).toThrow(/must be one of 5, 3.1.1/);
  });

  it('offers only the flags of the groups asked for', () => {
    const command = addSettingFlags(new Command('t'), ['token']);
    expect(command.options.map((option) => option.long)).toEqual(['--pkcs11-module', '--pin-file']);
  });

  it('writes limits, choices and defaults into the help line', () => {
    expect(describeSetting(SETTINGS.keepAliveSeconds.info)).toBe('MQTT keep-alive in seconds, 30-1200 (default: 300)');
    expect(describeSetting(SETTINGS.auth.info)).toBe('how the device authenticates to AWS IoT: mtls, sigv4, custom (default: mtls)');
  });
});
