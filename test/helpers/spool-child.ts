/**
 * A process that uses a spool and can be killed with SIGKILL mid-way, for
 * test/integration/spool/. Built by esbuild (spoolChild() below the tests), run by node:
 *
 *   append DIR FIRST COUNT CONCURRENCY   appends test messages FIRST.., COUNT of them, CONCURRENCY
 *                                        at a time; prints "acked INDEX ID" once each append resolves
 *   remove DIR COUNT                     removes the COUNT oldest, prints "removed COUNT", then waits
 *   open DIR MAXBYTES                    prints {"stats"} or {"error": {code, message}}, and checkSpoolDir's verdict
 */
import { checkSpoolDir, openSpool } from '../../src/spool/index.js';
import { createLogger } from '../../src/log/log.js';
import { spoolTestRecord } from './spool-records.js';

const [mode, dir, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
const log = createLogger({ level: 'warn', json: true });
const MAX_BYTES = 64 * 1024 * 1024;
const print = (line: string): void => void process.stdout.write(`${line}\n`);

if (mode === 'append') {
  const [first, count, concurrency] = rest.map(Number) as [number, number, number];
  const spool = await openSpool({ dir, maxBytes: MAX_BYTES, log });
  let next = first;
  const worker = async (): Promise<void> => {
    while (next < first + count) {
      const index = next++;
      const message = await spool.append(spoolTestRecord(index));
      print(`acked ${index} ${message.id}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await spool.close();
  print('done');
} else if (mode === 'remove') {
  const spool = await openSpool({ dir, maxBytes: MAX_BYTES, log });
  const oldest = spool.peek(Number(rest[0]));
  // As the bridge does: PUBACKs come in bunches, each removal is not awaited on its own.
  await Promise.all(oldest.map((message) => spool.remove(message.id)));
  print(`removed ${oldest.length}`);
  setInterval(() => undefined, 60_000);
} else if (mode === 'open') {
  const maxBytes = Number(rest[0]);
  const check = await checkSpoolDir(dir, maxBytes);
  try {
    const spool = await openSpool({ dir, maxBytes, log });
    print(JSON.stringify({ stats: spool.stats(), check }));
    await spool.close();
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    print(JSON.stringify({ error: { code, message }, check }));
  }
} else {
  console.error(`spool-child: unknown mode ${mode}`);
  process.exit(64);
}
