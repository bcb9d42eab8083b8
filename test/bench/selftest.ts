/**
 * How long `trustlink selftest` takes with the key in SoftHSM2 and in the
 * TPM 2.0 simulator, with and without the network checks (the round trip
 * included), beside `node -e 0` in the same run: the median wall time of
 * the whole process, and the report's own durationMs (the checks alone).
 *
 *   npm run bench:selftest      (builds dist/ first)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, TRUSTLINK } from '../helpers/paths.js';
import { run, runChecked, trustlink } from '../helpers/run.js';
import { createStack, type TestStack, type TokenKind } from '../helpers/stack.js';
import { median, timed } from './timing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

execFileSync(process.execPath, [join(REPO, 'bundle', 'build.mjs')], { stdio: 'inherit' });
const kinds: TokenKind[] = ['softhsm', 'tpm'];
const stacks = new Map<TokenKind, TestStack>();
try {
  for (const kind of kinds) stacks.set(kind, await createStack(`bench-selftest-${kind}`, { token: kind }));
  const rows: string[][] = [];
  const bare = { env: { PATH: process.env.PATH } };
  rows.push(['node -e 0', '-', (await timed(RUNS, () => run(process.execPath, ['-e', '0'], bare))).toFixed(0), '-']);
  for (const kind of kinds) {
    const stack = stacks.get(kind) as TestStack;
    // The same key certified for 90 days: past the 30-day expiry warning, so every check passes.
    const publicKey = join(stack.dir, 'bench.pub.pem');
    writeFileSync(publicKey, await runChecked('openssl', ['x509', '-in', stack.token.certFile, '-pubkey', '-noout']));
    const cert = await stack.pki.certify(publicKey, 'thing-1', join(stack.dir, 'bench.pem'), 90);
    const args = [...stack.args];
    args[args.indexOf('--cert') + 1] = cert;
    const env = { ...stack.env, TRUSTLINK_SELFTEST_TOPIC: 'bench/selftest' };
    const report = join(stack.dir, 'selftest.json');
    for (const [what, extra] of [['selftest --no-network', ['--no-network']], ['selftest (network, round trip)', []]] as const) {
      const checksMs: number[] = [];
      const wall = await timed(RUNS, async (index) => {
        const result = await trustlink(['selftest', ...args, ...extra, '--client-id', `bench-${index}`, '--report', report], env);
        if (result.code === 0) checksMs.push(JSON.parse(readFileSync(report, 'utf8')).durationMs);
        return result;
      });
      rows.push([what, kind, wall.toFixed(0), String(median(checksMs.slice(1)))]);
    }
  }
  console.log(`\nmedian of ${RUNS} runs after a warm-up (node ${process.version}, ${process.platform}-${process.arch}); ${TRUSTLINK}\n`);
  console.log('| what | token | wall ms | checks ms (report durationMs) |\n| --- | --- | ---: | ---: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  for (const stack of stacks.values()) await stack.close();
}
