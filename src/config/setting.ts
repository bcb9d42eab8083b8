/**
 * How one configuration key is declared: its valibot schema and what the
 * command line and the docs need to know about it (flag, help, limits,
 * default), side by side, so nothing about a key is written twice. The
 * builders below make both from one call; nothing reads valibot's internals.
 */
import * as v from 'valibot';

/** Which commands offer a key as a flag. */
/** 'global': a flag of every command (trustlink --FLAG COMMAND). */
export type SettingGroup = 'global' | 'connection' | 'identity' | 'token' | 'credentialsProvider' | 'provision' | 'rotation' | 'state' | 'agent' | 'runtime';

export type SettingKind = 'text' | 'integer' | 'choice' | 'list' | 'toggle' | 'object';

export interface SettingInfo {
  kind: SettingKind;
  /** One line: what the key is for. Starts lower-case; may name the modes it applies to ("sigv4: ..."). */
  help: string;
  /** The flag's long name without "--"; none when the key is set only in the file or the environment. */
  flag?: string;
  /** The flag's value placeholder, e.g. "file" in --ca-file <file>. */
  value?: string;
  groups: readonly SettingGroup[];
  /** The default, as data (applied by the schema). */
  default?: unknown;
  /** The default in words, when it depends on other keys ("8883 for mtls, 443 otherwise"). */
  defaultText?: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** Lists: a flag value is split on commas too, not only repeated. */
  commaSeparated?: boolean;
  /** Objects: the keys inside, each declared like a top-level one. */
  entries?: Record<string, SettingInfo>;
}

/** Everything about a key that is not its type. */
type Described = Omit<SettingInfo, 'kind' | 'default' | 'min' | 'max' | 'choices' | 'entries'>;

export interface Setting<TSchema extends v.GenericSchema = v.GenericSchema> {
  schema: TSchema;
  info: SettingInfo;
}

const nonEmptyString = v.pipe(v.string(), v.nonEmpty('must not be empty'));

/** A string, with checks of its own (a regex, a length) or just non-empty, optionally with a default. */
export function text<const TDefault extends string | undefined = undefined>(
  described: Described,
  checked: v.GenericSchema<string, string> = nonEmptyString,
  fallback?: TDefault,
) {
  return { schema: v.optional(checked, fallback as TDefault), info: { kind: 'text', ...described, default: fallback } } satisfies Setting;
}

/** A whole number in [min, max], optionally with a default. */
export function integer<const TDefault extends number | undefined>(
  described: Described,
  limits: { min: number; max?: number; default?: TDefault },
) {
  const ranged = limits.max === undefined
    ? v.pipe(v.number(), v.integer(), v.minValue(limits.min))
    : v.pipe(v.number(), v.integer(), v.minValue(limits.min), v.maxValue(limits.max));
  return {
    schema: v.optional(ranged, limits.default as TDefault),
    info: { kind: 'integer', ...described, min: limits.min, ...(limits.max !== undefined ? { max: limits.max } : {}), default: limits.default },
  } satisfies Setting;
}

/** One of a fixed list of strings. */
export function choice<const TChoices extends readonly [string, ...string[]], const TDefault extends TChoices[number] | undefined>(
  choices: TChoices,
  described: Described,
  fallback?: TDefault,
) {
  const message = choices.length === 2 ? `must be "${choices[0]}" or "${choices[1]}"` : `must be one of ${choices.join(', ')}`;
  return {
    schema: v.optional(v.picklist(choices, message), fallback as TDefault),
    info: { kind: 'choice', ...described, choices, default: fallback },
  } satisfies Setting;
}

/** A list of items; a flag may be repeated. */
export function list<TItem extends v.GenericSchema<string, string>>(item: TItem, described: Described, limits: { max?: number; default?: string[] } = {}) {
  const items = limits.max === undefined ? v.array(item) : v.pipe(v.array(item), v.maxLength(limits.max, `must hold at most ${limits.max} items`));
  return {
    schema: v.optional(items, limits.default),
    info: { kind: 'list', ...described, ...(limits.max !== undefined ? { max: limits.max } : {}), default: limits.default },
  } satisfies Setting;
}

/** On or off; a flag turns it on. */
export function toggle(described: Described, fallback = false) {
  return { schema: v.optional(v.boolean(), fallback), info: { kind: 'toggle', ...described, default: fallback } } satisfies Setting;
}

/** A JSON object of its own keys (config file and TRUSTLINK_ variable as JSON); each key may have a flag. */
export function object<const TEntries extends Record<string, Setting>>(entries: TEntries, described: Omit<Described, 'flag' | 'value'>) {
  const schemas = Object.fromEntries(Object.entries(entries).map(([key, setting]) => [key, setting.schema])) as { [K in keyof TEntries]: TEntries[K]['schema'] };
  const infos = Object.fromEntries(Object.entries(entries).map(([key, setting]) => [key, setting.info]));
  return { schema: v.optional(v.strictObject(schemas)), info: { kind: 'object', ...described, entries: infos } } satisfies Setting;
}
