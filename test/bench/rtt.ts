/**
 * npm run bench, the round-trip part: does the ~40 ms stall of the start-up
 * benchmark (Nagle's algorithm on the client's TLS flight, delayed ACKs on the
 * broker's side) also happen over a link with a round-trip time, and what does
 * a one-shot publish cost there? This kernel has no netem qdisc, so
 * rtt-relay.c makes the delay: the broker runs in a network namespace of its
 * own, reached through two TUN devices and the relay, which holds each packet
 * half the round-trip time. Both ends are on this machine; the addresses are
 * from 198.18.0.0/15, the range RFC 2544 sets aside for benchmarks. Needs
 * root (network namespaces); prints why it skips otherwise. Prints markdown,
 * asserts nothing.
 *
 *   node test/bench/run.mjs test/bench/rtt.ts        (after npm run build)
 *   BENCH_RUNS=5                                      fewer rounds (15 by default)
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HSM_DIR, REPO, TRUSTLINK } from '../helpers/paths.js';
import { canConnect } from '../helpers/mosquitto.js';
import { runChecked } from '../helpers/run.js';
import { createStack, type TestStack } from '../helpers/stack.js';
import { AWS_CRT_SCRIPT, awsCrtScriptEnv, buildNodelayShim } from './aws-crt-baseline.js';
import { median } from './timing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const RTTS_MS = [0, 10, 50];
const CLIENT_ADDRESS = '198.18.0.1';
const BROKER_ADDRESS = '198.18.0.2';
const BROKER_PORT = 8883;
const NAMESPACE = `trustlink-rtt-${process.pid}`;

function skip(reason: string): never {
  console.log(`Not measured: ${reason}.`);
  process.exit(0);
}

if (process.getuid?.() !== 0) skip('network namespaces need root');
if (spawnSync('ip', ['-V']).status !== 0) skip('iproute2 (`ip`) is not installed');

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
};

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** The relay for one round-trip time, with both devices up and addressed; stop it to remove them. */
async function startRelay(relay: string, rttMs: number): Promise<ChildProcess> {
  const child = spawn(relay, [`/var/run/netns/${NAMESPACE}`, String(rttMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  // "ready" once both devices exist; an exit first means it could not make them (its error is on stderr).
  const first = await Promise.race([once(child.stdout as NodeJS.ReadableStream, 'data'), once(child, 'exit')]);
  if (String(first[0]).trim() !== 'ready') throw new Error(`rtt-relay did not start (exit ${String(first[0])})`);
  ip('addr', 'add', `${CLIENT_ADDRESS}/30`, 'dev', 'tlrtt0');
  ip('link', 'set', 'tlrtt0', 'up');
  ip('-n', NAMESPACE, 'addr', 'add', `${BROKER_ADDRESS}/30`, 'dev', 'tlrtt1');
  ip('-n', NAMESPACE, 'link', 'set', 'tlrtt1', 'up');
  return child;
}

interface Row { name: string; command: string; args: string[]; env: NodeJS.ProcessEnv; ms: number[] }

let stack: TestStack | undefined;
let broker: ChildProcess | undefined;
let relay: ChildProcess | undefined;
let namespaceMade = false;
try {
  stack = await createStack('bench-rtt', { token: 'softhsm' });
  const { dir, pki, token } = stack;
  // The broker's certificate names the address the clients dial.
  await runChecked(join(HSM_DIR, 'pki.sh'), ['server', pki.dir, 'rtt-server', `IP:${BROKER_ADDRESS}`]);
  const relayBinary = join(dir, 'rtt-relay');
  execFileSync('cc', ['-O2', '-o', relayBinary, join(REPO, 'test/bench/rtt-relay.c')]);
  const shim = buildNodelayShim(dir);

  ip('netns', 'add', NAMESPACE);
  namespaceMade = true;
  ip('-n', NAMESPACE, 'link', 'set', 'lo', 'up');
  const config = join(dir, 'mosquitto-rtt.conf');
  writeFileSync(config, [
    // All addresses of the namespace: its loopback and the relay's device, nothing else.
    `listener ${BROKER_PORT}`, `cafile ${pki.caFile}`, `certfile ${join(pki.dir, 'rtt-server.pem')}`, `keyfile ${join(pki.dir, 'rtt-server.key')}`,
    'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false', 'user root',
    `log_dest file ${join(dir, 'mosquitto-rtt.log')}`, '',
  ].join('\n'));
  // `ip netns exec` execs mosquitto in place, so the child's PID is mosquitto's.
  broker = spawn('ip', ['netns', 'exec', NAMESPACE, 'mosquitto', '-c', config], { stdio: 'ignore' });

  const env = { ...stack.env, AWS_CRT_NODEJS_SUPPRESS_NODE_DEPRECATION_WARNING: 'true' };
  const crtEnv = awsCrtScriptEnv(env, { host: BROKER_ADDRESS, port: BROKER_PORT }, token, token.certFile, pki);
  const args = ['--endpoint', BROKER_ADDRESS, '--port', String(BROKER_PORT), '--ca-file', pki.caFile, '--cert', token.certFile, '--key', token.keyUri,
    '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile, '--log-level', 'warn'];
  const publish = (id: string): string[] => ['publish', ...args, '--client-id', `rtt-${id}`, '--topic', 'bench/rtt', '--message', 'hello', '--count', '1', '--qos', '1'];
  const newRows = (): Row[] => [
    { name: 'aws-crt alone: connect + 1 QoS 1 publish', command: process.execPath, args: [AWS_CRT_SCRIPT], env: { ...crtEnv, BENCH_CLIENT_ID: 'rtt-crt' }, ms: [] },
    { name: 'the same with TCP_NODELAY (preload)', command: process.execPath, args: [AWS_CRT_SCRIPT], env: { ...crtEnv, BENCH_CLIENT_ID: 'rtt-crt-nodelay', LD_PRELOAD: shim }, ms: [] },
    { name: 'trustlink publish --count 1 --qos 1', command: TRUSTLINK, args: publish('publish'), env, ms: [] },
    { name: 'trustlink connect', command: TRUSTLINK, args: ['connect', ...args, '--client-id', 'rtt-connect'], env, ms: [] },
  ];

  const results: Array<{ rttMs: number; rows: Row[] }> = [];
  for (const rttMs of RTTS_MS) {
    relay = await startRelay(relayBinary, rttMs);
    for (let tries = 0; !(await canConnect(BROKER_ADDRESS, BROKER_PORT)); tries++) {
      if (tries > 100) throw new Error('mosquitto does not answer in its namespace');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const rows = newRows();
    // A warm-up run of each row (page cache, compile cache), then interleaved rounds.
    for (let round = -1; round < RUNS; round++) {
      for (const row of rows) {
        const started = process.hrtime.bigint();
        const result = spawnSync(row.command, row.args, { env: row.env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 30_000 });
        if (result.status !== 0) throw new Error(`${row.name} at ${rttMs} ms RTT failed: ${result.stderr}`);
        if (round >= 0) row.ms.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    results.push({ rttMs, rows });
    await stopChild(relay);
    relay = undefined;
  }

  const names = results[0]?.rows.map((row) => row.name) ?? [];
  const cell = (rttMs: number, name: string): number => median(results.find((entry) => entry.rttMs === rttMs)?.rows.find((row) => row.name === name)?.ms ?? []);
  const [crt, nodelay, trustlinkPublish] = names as [string, string, string];
  console.log([
    `Medians of ${RUNS} interleaved rounds (ms), SoftHSM2 key, broker in a network namespace behind rtt-relay.c (test/bench/rtt.ts); ` +
      'run with `env -u NODE_EXTRA_CA_CERTS -u SSL_CERT_FILE`. The stall row is the plain script less the same script with TCP_NODELAY set by a preload.', '',
    `| command | ${RTTS_MS.map((rtt) => `RTT ${rtt} ms`).join(' | ')} |`,
    `| --- | ${RTTS_MS.map(() => '---:').join(' | ')} |`,
    ...names.map((name) => `| ${name} | ${RTTS_MS.map((rtt) => cell(rtt, name).toFixed(1)).join(' | ')} |`),
    `| stall: plain script less its TCP_NODELAY twin | ${RTTS_MS.map((rtt) => (cell(rtt, crt) - cell(rtt, nodelay)).toFixed(1)).join(' | ')} |`,
    `| trustlink publish / plain script | ${RTTS_MS.map((rtt) => `${(cell(rtt, trustlinkPublish) / cell(rtt, crt)).toFixed(2)}x`).join(' | ')} |`,
  ].join('\n'));
} finally {
  await stopChild(relay);
  await stopChild(broker);
  if (namespaceMade) ip('netns', 'del', NAMESPACE);
  await stack?.close();
}
