/**
 * Command results on stdout: a line of text for people, or one JSON object
 * a line with --json for scripts. Logs and errors never go here.
 */
export interface Output {
  readonly json: boolean;
  /** One result: `text` for a terminal, `data` for --json. */
  result(text: string, data: Record<string, unknown>): void;
}

export function createOutput(json: boolean, stream: NodeJS.WritableStream = process.stdout): Output {
  return {
    json,
    result(text, data) {
      stream.write(json ? `${JSON.stringify(data)}\n` : `${text}\n`);
    },
  };
}
