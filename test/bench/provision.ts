/**
 * How long `trustlink provision` takes from start to a working identity
 * (device key generated in the token, CSR, CreateCertificateFromCsr,
 * RegisterThing, certificate stored in the token, config written, one
 * connection with the new identity) on SoftHSM2 and on the TPM 2.0
 * simulator, beside one plain mTLS `trustlink connect` in the same run.
 * Each provisioning run makes a new key, config and state folder.
 *
 *   npm run bench:provision      (builds dist/ first)
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createFleetStack, type FleetStack } from '../helpers/fleet-stack.js';
import { REPO } from '../helpers/paths.js';
import { trustlink } from '../helpers/run.js';
import type { TokenKind } from '../helpers/stack.js';
import { timed } from './timing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

execFileSync(process.execPath, [join(REPO, 'bundle', 'build.mjs')], { stdio: 'inherit' });
const kinds: TokenKind[] = ['softhsm', 'tpm'];
const stacks = new Map<TokenKind, FleetStack>();
try {
  for (const kind of kinds) stacks.set(kind, await createFleetStack(`bench-provision-${kind}`, kind));
  const rows: string[][] = [];
  for (const kind of kinds) {
    const fleet = stacks.get(kind) as FleetStack;
    const { stack } = fleet;
    const connectMs = await timed(RUNS, (index) => trustlink(['connect', ...stack.args, '--client-id', `bench-${index}`], stack.env));
    rows.push(['trustlink connect (mTLS, existing identity)', kind, connectMs.toFixed(0)]);
    const provisionMs = await timed(RUNS, (index) => {
      const label = `bench-${index}`;
      return fleet.provision(fleet.writeConfig(label), join(stack.dir, `state-${label}`), [
        '--key', `pkcs11:token=${stack.token.label};object=${label}`, '--key-type', 'ec-p256', '--param', `SerialNumber=B${index}`,
      ]);
    });
    rows.push(['trustlink provision (keygen to verified identity)', kind, provisionMs.toFixed(0)]);
  }
  console.log(`\nmedian of ${RUNS} runs after a warm-up (node ${process.version}, ${process.platform}-${process.arch}); broker and stand-in on loopback\n`);
  console.log('| what | token | wall ms |\n| --- | --- | ---: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  for (const fleet of stacks.values()) await fleet.close();
}
