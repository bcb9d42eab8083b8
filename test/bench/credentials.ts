/**
 * What credentials cost on this machine, beside `node -e 0` measured in the
 * same run (the floor of any Node CLI):
 * - a cold `trustlink creds` (token login, TLS with the token signing, fetch),
 * - a cached `trustlink creds` (RAM cache hit: no token, no TLS),
 * - upstream fetches made by `creds serve` for 1,000 local requests within
 *   one credential lifetime.
 * Uses a real SoftHSM2 token and the credentials-provider stand-in; the
 * built CLI (npm run build). Prints figures; asserts nothing.
 *
 *   npm run build && node test/bench/run.mjs credentials [runs]
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createCredentialsStack } from '../helpers/credentials.js';
import { TRUSTLINK } from '../helpers/paths.js';
import { RunningCli } from '../helpers/run.js';

const runs = Number(process.argv[2] ?? 15);

function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    execFile(file, args, { env }, (error) => {
      if (error) reject(error);
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

function quantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

const stack = await createCredentialsStack('bench');
try {
  const cacheDir = join(stack.ramDir, 'cache');
  const cases: Array<{ name: string; run: () => Promise<number> }> = [
    { name: 'node -e 0 (baseline)', run: () => timed(process.execPath, ['-e', '0'], stack.env) },
    { name: 'trustlink --version', run: () => timed(TRUSTLINK, ['--version'], stack.env) },
    { name: 'creds, cold (--no-cache)', run: () => timed(TRUSTLINK, ['creds', ...stack.args, '--no-cache'], stack.env) },
    { name: 'creds, cached', run: () => timed(TRUSTLINK, ['creds', ...stack.args, '--cache-dir', cacheDir], stack.env) },
  ];
  // Fill the cache and warm the page cache once, untimed.
  for (const item of cases) await item.run();
  const samples = new Map<string, number[]>(cases.map((item) => [item.name, []]));
  // Interleaved, so drift in machine load hits every case alike.
  for (let round = 0; round < runs; round++) for (const item of cases) samples.get(item.name)!.push(await item.run());

  console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${runs} runs each, wall time of the whole process (ms)`);
  console.log('case                          median     p10     p90');
  const baseline = quantile([...samples.get(cases[0]!.name)!].sort((a, b) => a - b), 0.5);
  for (const [name, values] of samples) {
    const sorted = [...values].sort((a, b) => a - b);
    const median = quantile(sorted, 0.5);
    const overBaseline = name === cases[0]!.name ? '' : `   (+${(median - baseline).toFixed(1)} over node -e 0)`;
    console.log(`${name.padEnd(28)} ${median.toFixed(1).padStart(7)} ${quantile(sorted, 0.1).toFixed(1).padStart(7)} ${quantile(sorted, 0.9).toFixed(1).padStart(7)}${overBaseline}`);
  }

  const fetchesBefore = stack.provider.requestCount;
  const server = new RunningCli(['creds', ...stack.args, 'serve', '--port', '0', '--token-file', join(stack.ramDir, 'token')], stack.env);
  try {
    await server.waitFor('the environment lines', () => server.stdoutLines.some((line) => line.startsWith('AWS_EC2_METADATA_SERVICE_ENDPOINT=')));
    const url = server.stdoutLines.find((line) => line.startsWith('AWS_CONTAINER_CREDENTIALS_FULL_URI='))!.split('=')[1]!;
    const authorization = readFileSync(join(stack.ramDir, 'token'), 'utf8');
    const started = process.hrtime.bigint();
    let ok = 0;
    for (let batch = 0; batch < 10; batch++) {
      const statuses = await Promise.all(Array.from({ length: 100 }, () => fetch(url, { headers: { authorization } }).then(async (response) => {
        await response.arrayBuffer();
        return response.status;
      })));
      ok += statuses.filter((status) => status === 200).length;
    }
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`\ncreds serve: ${ok}/1000 ECS requests answered 200 in ${elapsed.toFixed(0)} ms (100 at a time); upstream fetches: ${stack.provider.requestCount - fetchesBefore}`);
  } finally {
    await server.stop();
  }
} finally {
  await stack.close();
}
