/** The "Exit status" paragraph of a command's --help, from the table in errors.ts. */
import { EXIT_CODES, EXIT_MEANINGS } from '../errors.js';

type ExitName = keyof typeof EXIT_CODES;

/** `success` says what 0 means for this command; `statuses` the others it can end with. */
export function exitStatusHelp(success: string, statuses: readonly ExitName[]): string {
  const codes = statuses.map((name) => EXIT_CODES[name]).sort((a, b) => a - b);
  const lines = [`  0   ${success}`, ...codes.map((code) => `  ${code}  ${EXIT_MEANINGS[code]}`)];
  return `\nExit status:\n${lines.join('\n')}`;
}

/** What a command that connects to AWS IoT can end with. */
export const CONNECTING_EXITS = ['usage', 'unavailable', 'software', 'protocol', 'noPermission', 'config'] as const satisfies readonly ExitName[];
/** What a command that only uses the token can end with. */
export const TOKEN_EXITS = ['usage', 'unavailable', 'software', 'noPermission', 'config'] as const satisfies readonly ExitName[];
