/**
 * How long token work takes with SoftHSM2 and with the TPM 2.0 simulator:
 * `trustlink hsm keygen` per key type, and a whole `trustlink publish
 * --count 1` (start, token login, TLS handshake with the token key, MQTT
 * CONNECT, one QoS 1 PUBACK, exit), each the median wall time of 5 runs,
 * beside `node -e 0` and `trustlink --version` measured in the same run.
 *
 *   npm run bench -- test/bench/hsm.ts      (builds dist/ first)
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { hsm, type TokenAccess } from '../helpers/provision.js';
import { REPO, TRUSTLINK } from '../helpers/paths.js';
import { run, trustlink } from '../helpers/run.js';
import { createStack, type TestStack, type TokenKind } from '../helpers/stack.js';
import { timed } from './timing.js';

const RUNS = 5;
const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048'];

function access(stack: TestStack): TokenAccess {
  return { env: stack.env, modulePath: stack.token.modulePath, pinFile: stack.token.pinFile, label: stack.token.label };
}

execFileSync(process.execPath, [join(REPO, 'bundle', 'build.mjs')], { stdio: 'inherit' });
const kinds: TokenKind[] = ['softhsm', 'tpm'];
const stacks = new Map<TokenKind, TestStack>();
try {
  for (const kind of kinds) stacks.set(kind, await createStack(`bench-${kind}`, { token: kind }));
  const rows: string[][] = [];
  // The same bare environment as the token runs: NODE_EXTRA_CA_CERTS and the like cost tens of ms at startup.
  const bare = { env: { PATH: process.env.PATH } };
  rows.push(['node -e 0', '-', (await timed(RUNS, () => run(process.execPath, ['-e', '0'], bare))).toFixed(0)]);
  rows.push(['trustlink --version', '-', (await timed(RUNS, () => run(TRUSTLINK, ['--version'], bare))).toFixed(0)]);
  for (const kind of kinds) {
    const stack = stacks.get(kind) as TestStack;
    for (const type of KEY_TYPES) {
      const ms = await timed(RUNS, (index) => hsm(access(stack), ['keygen', '--token', 'dev', '--label', `bench-${type}-${index}`, '--type', type]));
      rows.push([`hsm keygen --type ${type}`, kind, ms.toFixed(0)]);
    }
    const publish = await timed(RUNS, (index) => trustlink(['publish', ...stack.args, '--client-id', `bench-${index}`, '--topic', 'bench', '--message', 'x', '--count', '1'], stack.env));
    rows.push(['publish --count 1 (mTLS connect + PUBACK)', kind, publish.toFixed(0)]);
  }
  console.log(`\nmedian of ${RUNS} runs after a warm-up, wall time in ms (node ${process.version}, ${process.platform}-${process.arch})\n`);
  console.log('| what | token | ms |\n| --- | --- | ---: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  for (const stack of stacks.values()) await stack.close();
}
