/**
 * How long `trustlink rotate` takes from start to the old key retired (new
 * key generated in the token, CSR, CreateCertificateFromCsr and RegisterThing
 * over the device's own connection, certificate stored in the token, one
 * connection with the new identity, config switched, old key removed) on
 * SoftHSM2 and on the TPM 2.0 simulator, beside one plain mTLS
 * `trustlink connect` in the same run. Each rotation gets a device
 * provisioned for it beforehand (not timed).
 *
 *   node test/bench/run.mjs test/bench/rotate.ts      (builds dist/ first)
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createFleetStack, TEMPLATE, type FleetStack } from '../helpers/fleet-stack.js';
import { REPO } from '../helpers/paths.js';
import { trustlink } from '../helpers/run.js';
import type { TokenKind } from '../helpers/stack.js';
import { median, timed } from './timing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/** Median wall ms of `runs` rotations (after a warm-up), each of a freshly provisioned device. */
async function rotations(fleet: FleetStack, kind: TokenKind): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index <= RUNS; index++) {
    const label = `bench-rot-${index}`;
    const serial = `BR${index}`;
    const stateDir = join(fleet.stack.dir, `state-${label}`);
    const config = fleet.writeConfig(label);
    const provisioned = await fleet.provision(config, stateDir, ['--key', `pkcs11:token=${fleet.stack.token.label};object=${label}`, '--param', `SerialNumber=${serial}`]);
    if (provisioned.code !== 0) throw new Error(`provisioning for run ${index} (${kind}) exited ${provisioned.code}: ${provisioned.stderr}`);
    const started = process.hrtime.bigint();
    const rotated = await fleet.rotate(config, stateDir, ['--template', TEMPLATE, '--param', `SerialNumber=${serial}`]);
    if (index > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (rotated.code !== 0) throw new Error(`rotation ${index} (${kind}) exited ${rotated.code}: ${rotated.stderr}`);
  }
  return median(times);
}

execFileSync(process.execPath, [join(REPO, 'bundle', 'build.mjs')], { stdio: 'inherit' });
const kinds: TokenKind[] = ['softhsm', 'tpm'];
const stacks = new Map<TokenKind, FleetStack>();
try {
  for (const kind of kinds) stacks.set(kind, await createFleetStack(`bench-rotate-${kind}`, kind, { rotation: true }));
  const rows: string[][] = [];
  for (const kind of kinds) {
    const fleet = stacks.get(kind) as FleetStack;
    const { stack } = fleet;
    const connectMs = await timed(RUNS, (index) => trustlink(['connect', ...stack.args, '--client-id', `bench-${index}`], stack.env));
    rows.push(['trustlink connect (mTLS, existing identity)', kind, connectMs.toFixed(0)]);
    rows.push(['trustlink rotate (keygen to old key retired)', kind, (await rotations(fleet, kind)).toFixed(0)]);
  }
  console.log(`\nmedian of ${RUNS} runs after a warm-up (node ${process.version}, ${process.platform}-${process.arch}); broker and stand-in on loopback\n`);
  console.log('| what | token | wall ms |\n| --- | --- | ---: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  for (const fleet of stacks.values()) await fleet.close();
}
