/**
 * Builds the configuration from three layers, each validated on its own so
 * an error names where the bad value came from: the JSON file (with its
 * line), the environment variable, or the flag. Flags override the
 * environment, which overrides the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as v from 'valibot';
import { TrustlinkError } from '../errors.js';
import { CONFIG_KEYS, configSchema, envName, settingInfo, type Config, type ConfigKey } from './schema.js';

export const DEFAULT_CONFIG_FILE = '/etc/trustlink/config.json';

export interface ConfigSources {
  /** --config, when given. */
  file?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Settings given as flags, already typed by the CLI parser. */
  flags: Partial<Record<ConfigKey, unknown>>;
  /** Read when no file is named and it exists. */
  defaultFile?: string;
}

export interface LoadedConfig {
  config: Config;
  /** The file that was read, if any. */
  file: string | undefined;
}

type Layer = Record<string, unknown>;

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/** Where a key appears in the file, so errors can point at a line. */
function lineOfKey(text: string, key: string): string {
  const at = text.indexOf(`"${key}"`);
  return at === -1 ? '' : ` (${lineAndColumn(text, at).split(',')[0]})`;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    const where = position !== undefined ? `, ${lineAndColumn(text, Number(position))}` : '';
    throw new TrustlinkError('CONFIG_INVALID', `config file ${file}${where}: not valid JSON (${message.replace(/ in JSON at position \d+.*$/, '')})`, {
      hint: 'check for a missing comma or quote; JSON allows no comments or trailing commas',
    });
  }
}

function readFileLayer(file: string): { layer: Layer; text: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TrustlinkError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'check the path given with --config or TRUSTLINK_CONFIG',
    });
  }
  const value = parseJson(text, file);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TrustlinkError('CONFIG_INVALID', `config file ${file}: the top level must be a JSON object`);
  }
  return { layer: value as Layer, text };
}

/** Object keys come from the environment as JSON; what does not parse is left for validation to report. */
function parseEnvJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Environment values are strings; turn them into what the key's schema expects. */
function readEnvLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = {};
  for (const key of CONFIG_KEYS) {
    const raw = env[envName(key)];
    if (raw === undefined || raw === '') continue;
    const { kind } = settingInfo(key);
    if (kind === 'integer') layer[key] = /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    else if (kind === 'toggle') layer[key] = raw === 'true' ? true : raw === 'false' ? false : raw;
    else if (kind === 'list') layer[key] = raw.split(',').map((item) => item.trim()).filter(Boolean);
    else if (kind === 'object') layer[key] = parseEnvJson(raw);
    else layer[key] = raw;
  }
  return layer;
}

function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((item) => String(item.key)).join('.') ?? '';
  if (issue.kind === 'schema' && issue.expected === 'never') {
    const unknown = path || String(issue.input);
    return `unknown key "${unknown}"`;
  }
  return `${path}: ${issue.message}`;
}

function validateLayer(layer: Layer, where: string, fileText?: string): void {
  // Defaults stay out of this check: they are applied once, after merging.
  const result = v.safeParse(configSchema, layer);
  if (result.success) return;
  const problems = result.issues.map((issue) => {
    const key = issue.path?.[0]?.key;
    const line = fileText !== undefined && typeof key === 'string' ? lineOfKey(fileText, key) : '';
    return `${describeIssue(issue)}${line}`;
  });
  throw new TrustlinkError('CONFIG_INVALID', `${where}: ${problems.join('; ')}`, {
    hint: `the keys are: ${CONFIG_KEYS.join(', ')} (see docs/configuration.md)`,
  });
}

function withoutUndefined(layer: Layer): Layer {
  return Object.fromEntries(Object.entries(layer).filter(([, value]) => value !== undefined));
}

const isPlainObject = (value: unknown): value is Layer => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Later layers win; object keys (credentials) merge one level deep, so a flag can override one of their keys. */
function mergeLayers(layers: Layer[]): Layer {
  const merged: Layer = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      const before = merged[key];
      merged[key] = isPlainObject(before) && isPlainObject(value) ? { ...before, ...withoutUndefined(value) } : value;
    }
  }
  return merged;
}

export function loadConfig(sources: ConfigSources): LoadedConfig {
  const named = sources.file ?? sources.env.TRUSTLINK_CONFIG;
  const defaultFile = sources.defaultFile ?? DEFAULT_CONFIG_FILE;
  const file = named ?? (existsSync(defaultFile) ? defaultFile : undefined);

  let fileLayer: Layer = {};
  if (file !== undefined) {
    const { layer, text } = readFileLayer(file);
    validateLayer(layer, `config file ${file}`, text);
    fileLayer = layer;
  }
  const envLayer = readEnvLayer(sources.env);
  for (const [key, value] of Object.entries(envLayer)) validateLayer({ [key]: value }, `environment variable ${envName(key as ConfigKey)}`);
  const flagLayer = withoutUndefined(sources.flags);
  validateLayer(flagLayer, 'command line');

  const config = v.parse(configSchema, mergeLayers([fileLayer, envLayer, flagLayer]));
  return { config, file };
}
