/**
 * The shipped systemd units, read the way the tests need them: a key's values,
 * ExecStart= as argv, and their Condition*= checks evaluated by systemd itself
 * (`systemd-analyze condition`) against an image root.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../../helpers/paths.js';
import { run } from '../../helpers/run.js';

export const UNIT_FILES = join(REPO, 'meta-trustlink/recipes-iot/trustlink/files');
export const UNITS = ['trustlink.service', 'trustlink-selftest.service', 'trustlink-provision.service'];
export const INSTALLED_BINARY = '/usr/bin/trustlink';

/** The values of every `Key=` line of a unit. */
export function unitValues(unit: string, key: string): string[] {
  return readFileSync(join(UNIT_FILES, unit), 'utf8').split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/**
 * A unit's Environment= assignments as variables: one a line, plain or wholly in double quotes
 * (a value may hold `=` and, quoted, spaces). Throws on other quoting, which this does not parse.
 */
export function unitVariables(unit: string): Record<string, string> {
  return Object.fromEntries(unitValues(unit, 'Environment').map((line) => {
    const quoted = /^"[^"\\]*"$/.test(line);
    if (!quoted && /["'\\\s]/.test(line)) throw new Error(`${unit}: Environment=${line} is quoted in a way this parser does not read`);
    const assignment = quoted ? line.slice(1, -1) : line;
    const at = assignment.indexOf('=');
    return [assignment.slice(0, at), assignment.slice(at + 1)];
  }));
}

/** ExecStart= as argv after the binary; throws unless it is one plain `/usr/bin/trustlink ...` line. */
export function execStartArgs(unit: string): string[] {
  const lines = unitValues(unit, 'ExecStart');
  // Plain words only: this parser does not do systemd's quoting, so the units must not need it.
  if (lines.length !== 1 || !/^[\w/.=-]+( [\w/.=-]+)*$/.test(lines[0] as string)) throw new Error(`${unit}: ExecStart= is not one plain command: ${lines.join(' | ')}`);
  const [binary, ...args] = (lines[0] as string).split(' ');
  if (binary !== INSTALLED_BINARY) throw new Error(`${unit}: ExecStart= runs ${binary}, not ${INSTALLED_BINARY}`);
  return args;
}

/** Every Condition*= line of a unit, as written ("ConditionPathExists=!/var/lib/..."). */
export function conditions(unit: string): string[] {
  return readFileSync(join(UNIT_FILES, unit), 'utf8').split('\n').filter((line) => /^Condition\w+=/.test(line));
}

/**
 * The unit's conditions as systemd evaluates them with every absolute path under `root`:
 * undefined when all hold (the unit would start), else the first failed one, as written in the
 * unit: what systemd names when it skips the unit ("... unmet condition check (X)").
 */
export async function unmetCondition(unit: string, root: string): Promise<string | undefined> {
  const written = conditions(unit);
  const rooted = written.map((line) => line.replace(/=(!?)(\/)/, `=$1${root}$2`));
  const result = await run('systemd-analyze', ['condition', ...rooted]);
  if (result.code === 0) return undefined;
  const failed = rooted.findIndex((line) => result.stderr.includes(`${line} failed`));
  if (failed < 0) throw new Error(`systemd-analyze condition exited ${result.code}: ${result.stderr}`);
  return written[failed];
}
