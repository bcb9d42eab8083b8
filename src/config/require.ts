/**
 * The error for a setting a command needs and nobody gave, naming all three
 * ways to give it and saying what it is for.
 */
import { TrustlinkError } from '../errors.js';
import { envName, SETTINGS, type Config, type ConfigKey } from './schema.js';
import type { SettingInfo } from './setting.js';

function infoAt(path: string): SettingInfo {
  const [top, inner] = path.split('.') as [ConfigKey, string | undefined];
  const info: SettingInfo = SETTINGS[top].info;
  return inner === undefined ? info : (info.entries?.[inner] as SettingInfo);
}

/** `path` is a key ("certFile") or a key inside an object key ("credentials.endpoint"). */
export function missingSetting(path: string, options: { when?: string; hint?: string } = {}): TrustlinkError {
  const info = infoAt(path);
  const top = path.split('.')[0] as ConfigKey;
  const name = info.flag !== undefined ? `--${info.flag}` : `"${path}"`;
  const elsewhere = [...(info.flag !== undefined ? [`"${path}" in the config file`] : []), `${envName(top)}${path.includes('.') ? ' (JSON)' : ''} in the environment`];
  const when = options.when !== undefined ? ` ${options.when}` : '';
  return new TrustlinkError('USAGE', `${name} is required${when} (or ${elsewhere.join(', or ')})`, {
    hint: options.hint ?? `${path}: ${info.help}`,
  });
}

export function requireSetting<K extends ConfigKey>(config: Config, key: K, options?: { when?: string; hint?: string }): NonNullable<Config[K]> {
  const value = config[key];
  if (value === undefined) throw missingSetting(key, options);
  return value as NonNullable<Config[K]>;
}
