/**
 * The tables of docs/ that restate code: the exit statuses and error codes
 * (src/errors.ts) and the configuration keys (src/config/schema.ts). Each
 * sits between two marker comments in its page; `npm run docs` rewrites what
 * is between them, and test/unit/docs/generated-tables.test.ts fails when a
 * checked-in page differs from what this writes.
 */
import { EXIT_MEANINGS, knownErrorCodes, TrustlinkError, type ErrorCode } from '../src/errors.js';
import { envName, SETTINGS, type ConfigKey } from '../src/config/schema.js';
import type { SettingInfo } from '../src/config/setting.js';
import { defaultText, limitsText } from '../src/cli/setting-flags.js';
import { ERROR_NOTES } from './error-notes.js';

export interface GeneratedTable {
  /** The page, relative to the repo. */
  file: string;
  /** The name in its markers: <!-- generated:NAME --> ... <!-- /generated:NAME -->. */
  name: string;
  render: () => string;
}

/** A table cell: pipes and "<" escaped, so text from the code cannot break the row or read as HTML. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/</g, '&lt;');
const code = (text: string): string => `\`${text}\``;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function exitStatusTable(): string {
  const rows = Object.entries(EXIT_MEANINGS).map(([status, meaning]) => [status, cell(meaning)]);
  return table(['status', 'meaning'], [['0', 'success'], ...rows]);
}

export function errorCodeTable(): string {
  const rows = (knownErrorCodes() as ErrorCode[]).map((name) => [code(name), String(new TrustlinkError(name, '').exitCode), cell(ERROR_NOTES[name])]);
  return table(['code', 'exit', 'what it means, and what to check'], rows);
}

const KIND_NAMES: Record<SettingInfo['kind'], string> = {
  text: 'string', integer: 'integer', choice: 'one of', list: 'list', toggle: 'true/false', object: 'object',
};

function settingRow(path: string, env: string, info: SettingInfo): string[] {
  const fallback = defaultText(info);
  const limits = limitsText(info);
  return [
    code(path),
    info.flag !== undefined ? code(`--${info.flag}`) : '',
    code(env),
    KIND_NAMES[info.kind],
    limits !== undefined ? cell(limits) : '',
    fallback !== undefined ? cell(fallback) : '',
    cell(info.help),
  ];
}

export function configTable(): string {
  const rows = (Object.entries(SETTINGS) as Array<[ConfigKey, { info: SettingInfo }]>).flatMap(([key, { info }]) => {
    if (info.kind !== 'object') return [settingRow(key, envName(key), info)];
    // An object key comes from the environment as one JSON variable.
    return Object.entries(info.entries ?? {}).map(([inner, entry]) => settingRow(`${key}.${inner}`, `${envName(key)} (JSON)`, entry));
  });
  return table(['key', 'flag', 'environment', 'type', 'limits', 'default', 'what it is'], rows);
}

export const GENERATED_TABLES: readonly GeneratedTable[] = [
  { file: 'docs/errors.md', name: 'exit-statuses', render: exitStatusTable },
  { file: 'docs/errors.md', name: 'error-codes', render: errorCodeTable },
  { file: 'docs/configuration.md', name: 'config-keys', render: configTable },
];

const START = (name: string): string => `<!-- generated:${name} (npm run docs writes this table; edit the code, not here) -->`;
const END = (name: string): string => `<!-- /generated:${name} -->`;

/** The page with the table between its markers replaced; an error when the markers are missing. */
export function withTable(page: string, generated: GeneratedTable): string {
  const start = page.indexOf(START(generated.name));
  const end = page.indexOf(END(generated.name));
  if (start < 0 || end < start) throw new Error(`${generated.file}: no ${START(generated.name)} ... ${END(generated.name)} markers`);
  return `${page.slice(0, start)}${START(generated.name)}\n${generated.render()}\n${page.slice(end)}`;
}

export interface GeneratedPage {
  file: string;
  current: string;
  expected: string;
}

/** Each page that holds generated tables: as checked in, and as `npm run docs` would write it. */
export function generatedPages(read: (file: string) => string): GeneratedPage[] {
  const files = [...new Set(GENERATED_TABLES.map((generated) => generated.file))];
  return files.map((file) => {
    const current = read(file);
    const expected = GENERATED_TABLES.filter((generated) => generated.file === file).reduce(withTable, current);
    return { file, current, expected };
  });
}
