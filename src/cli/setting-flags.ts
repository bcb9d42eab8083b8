/**
 * Command-line flags made from the configuration keys' declarations
 * (config/schema.ts): the flag name, its help, its limits and default come
 * from there, and what a command parsed goes back under the key's own name.
 * Defaults are not given to commander: the schema applies them once, after
 * the file, the environment and the flags are layered.
 */
import { Option, type Command } from 'commander';
import { SETTINGS, type ConfigKey } from '../config/schema.js';
import type { SettingGroup, SettingInfo } from '../config/setting.js';
import { parseChoice, parseInteger } from './parse.js';

/** A flag and where its value goes: a key, or a key inside an object key. */
interface FlagTarget {
  key: ConfigKey;
  inner: string | undefined;
  info: SettingInfo;
}

function targetsFor(groups: readonly SettingGroup[]): FlagTarget[] {
  const wanted = (info: SettingInfo): boolean => info.flag !== undefined && info.groups.some((group) => groups.includes(group));
  return (Object.entries(SETTINGS) as Array<[ConfigKey, { info: SettingInfo }]>).flatMap(([key, { info }]): FlagTarget[] => {
    if (info.kind !== 'object') return wanted(info) ? [{ key, inner: undefined, info }] : [];
    return Object.entries(info.entries ?? {}).filter(([, entry]) => wanted(entry)).map(([inner, entry]) => ({ key, inner, info: entry }));
  });
}

/** The default in words, or none (an unset key, or a toggle that is off). */
export function defaultText(info: SettingInfo): string | undefined {
  if (info.defaultText !== undefined) return info.defaultText;
  if (info.default === undefined || info.default === false) return undefined;
  return Array.isArray(info.default) ? info.default.join(', ') : String(info.default);
}

/** The choices of a choice, or the range of an integer. */
export function limitsText(info: SettingInfo): string | undefined {
  if (info.kind === 'choice' && info.choices !== undefined) return info.choices.join(', ');
  if (info.kind === 'integer' && info.min !== undefined) return info.max !== undefined ? `${info.min}-${info.max}` : `at least ${info.min}`;
  return undefined;
}

/** The help line: what it is, its limits or choices, and its default. */
export function describeSetting(info: SettingInfo): string {
  const limits = limitsText(info);
  let text = info.help;
  if (limits !== undefined) text += info.kind === 'choice' ? `: ${limits}` : `, ${limits}`;
  const notes: string[] = [];
  if (info.kind === 'list') notes.push(info.commaSeparated ? 'repeatable or comma-separated' : 'repeatable');
  const fallback = defaultText(info);
  if (fallback !== undefined) notes.push(`default: ${fallback}`);
  return notes.length > 0 ? `${text} (${notes.join('; ')})` : text;
}

const collect = (split: boolean) => (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...(split ? value.split(',').map((item) => item.trim()).filter(Boolean) : [value]),
];

function optionFor(info: SettingInfo): Option {
  const flags = info.kind === 'toggle' ? `--${info.flag}` : `--${info.flag} <${info.value ?? 'value'}>`;
  const option = new Option(flags, describeSetting(info));
  if (info.kind === 'integer') option.argParser(parseInteger(info.min ?? Number.MIN_SAFE_INTEGER, info.max ?? Number.MAX_SAFE_INTEGER));
  if (info.kind === 'choice' && info.choices !== undefined) option.argParser(parseChoice(info.choices));
  if (info.kind === 'list') option.argParser(collect(info.commaSeparated ?? false));
  return option;
}

/** Adds the flags of every key in these groups, in the order the schema declares them. */
export function addSettingFlags(command: Command, groups: readonly SettingGroup[]): Command {
  for (const target of targetsFor(groups)) command.addOption(optionFor(target.info));
  return command;
}

/** The flags a command was given, as a configuration layer (absent flags leave their keys out). */
export function settingsFromFlags(command: Command, groups: readonly SettingGroup[]): Partial<Record<ConfigKey, unknown>> {
  const given = command.opts<Record<string, unknown>>();
  const layer: Record<string, unknown> = {};
  for (const target of targetsFor(groups)) {
    const value = given[optionFor(target.info).attributeName()];
    if (value === undefined) continue;
    if (target.inner === undefined) layer[target.key] = value;
    else layer[target.key] = { ...(layer[target.key] as Record<string, unknown> | undefined), [target.inner]: value };
  }
  return layer as Partial<Record<ConfigKey, unknown>>;
}
