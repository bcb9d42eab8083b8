/**
 * Renders a failure once, at the CLI's edge: one line saying what failed,
 * a hint saying what to do, and the cause chain only with --debug.
 */
import { CommanderError } from 'commander';
import { EXIT_CODES, TrustlinkError } from '../errors.js';

export interface RenderOptions {
  json: boolean;
  debug: boolean;
}

export function toTrustlinkError(error: unknown): TrustlinkError {
  if (error instanceof TrustlinkError) return error;
  if (error instanceof CommanderError) {
    return new TrustlinkError('USAGE', error.message.replace(/^error: /, ''), { hint: 'see trustlink --help, or trustlink COMMAND --help' });
  }
  return new TrustlinkError('INTERNAL', `unexpected error: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
    hint: 'this is a bug in trustlink; run again with --debug and report what it prints',
  });
}

function causeChain(error: unknown): string[] {
  const lines: string[] = [];
  let cause = (error as { cause?: unknown }).cause;
  while (cause !== undefined && lines.length < 10) {
    lines.push(cause instanceof Error ? (cause.stack ?? cause.message) : String(cause));
    cause = (cause as { cause?: unknown }).cause;
  }
  return lines;
}

export function renderError(error: unknown, options: RenderOptions, stream: NodeJS.WritableStream = process.stderr): number {
  const failure = toTrustlinkError(error);
  if (options.json) {
    stream.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message, hint: failure.hint, exitCode: failure.exitCode } })}\n`);
  } else {
    stream.write(`trustlink: ${failure.message} [${failure.code}]\n`);
    if (failure.hint) stream.write(`  hint: ${failure.hint}\n`);
    if (options.debug) for (const line of causeChain(failure)) stream.write(`  cause: ${line}\n`);
  }
  return failure.exitCode ?? EXIT_CODES.software;
}
