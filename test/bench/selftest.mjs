#!/usr/bin/env node
// node test/bench/selftest.mjs (after npm run build): how long `trustlink
// selftest` takes on a SoftHSM2 token, with and without the network checks,
// beside `node -e 0` measured in the same run. Wall time of the whole process
// and the report's own durationMs (the checks alone). Prints medians; asserts
// nothing. Runs against a SoftHSM2 token and a mosquitto on loopback.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const trustlink = join(root, 'dist', 'trustlink');
const runs = Number(process.env.BENCH_RUNS ?? 15);
const work = mkdtempSync(join(tmpdir(), 'trustlink-bench-selftest-'));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const freePort = () => new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

const sh = (file, args) => execFileSync(join(root, 'hsm', file), args, { encoding: 'utf8' });

/** Wall time of one run, and the report's durationMs when it wrote one. */
function once(command, args, env, report) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return { wallMs, checksMs: report ? JSON.parse(readFileSync(report, 'utf8')).durationMs : undefined };
}

function bench(name, command, args, env, report) {
  once(command, args, env, report); // warm the page cache
  const samples = Array.from({ length: runs }, () => once(command, args, env, report));
  return { name, wallMs: median(samples.map((s) => s.wallMs)), checksMs: report ? median(samples.map((s) => s.checksMs)) : undefined };
}

let broker;
try {
  sh('pki.sh', ['ca', join(work, 'pki')]);
  sh('pki.sh', ['server', join(work, 'pki'), 'broker']);
  const token = Object.fromEntries(sh('softhsm.sh', ['token', join(work, 'hsm'), 'bench', 'devkey']).trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)));
  sh('softhsm.sh', ['pubkey', join(work, 'hsm'), 'bench', 'devkey', join(work, 'pub.pem')]);
  // 90 days: past the 30-day expiry warning, so the verdict is a clean pass.
  sh('pki.sh', ['certify', join(work, 'pki'), join(work, 'pub.pem'), 'bench-thing', join(work, 'device.pem'), '90']);

  const port = await freePort();
  writeFileSync(join(work, 'mosquitto.conf'), [
    `listener ${port} 127.0.0.1`, `cafile ${work}/pki/ca.pem`, `certfile ${work}/pki/broker.pem`, `keyfile ${work}/pki/broker.key`,
    'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false', `user ${userInfo().username}`, '',
  ].join('\n'));
  broker = spawn('mosquitto', ['-c', join(work, 'mosquitto.conf')], { stdio: 'ignore' });
  await sleep(300);

  writeFileSync(join(work, 'config.json'), JSON.stringify({
    endpoint: 'localhost', port, caFile: join(work, 'pki', 'ca.pem'), certFile: join(work, 'device.pem'),
    key: token.TRUSTLINK_KEY, pkcs11Module: token.TRUSTLINK_PKCS11_MODULE, pinFile: token.TRUSTLINK_PIN_FILE,
    thingName: 'bench-thing', selftestTopic: 'bench/selftest',
  }));
  const env = { PATH: process.env.PATH, SOFTHSM2_CONF: token.SOFTHSM2_CONF, TRUSTLINK_CONFIG: join(work, 'config.json') };
  const report = join(work, 'selftest.json');

  const results = [
    bench('node -e 0 (baseline)', process.execPath, ['-e', '0'], env),
    bench('trustlink selftest --no-network', trustlink, ['selftest', '--no-network', '--report', report], env, report),
    bench('trustlink selftest (network, round trip)', trustlink, ['selftest', '--report', report], env, report),
  ];
  const base = results[0].wallMs;
  console.log(`\ntrustlink selftest on SoftHSM2, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; medians of ${runs} runs\n`);
  console.log('| command | wall (ms) | vs node -e 0 | checks alone (report durationMs) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of results) console.log(`| ${r.name} | ${r.wallMs.toFixed(1)} | ${(r.wallMs / base).toFixed(2)}x | ${r.checksMs === undefined ? '-' : r.checksMs} |`);
} finally {
  broker?.kill();
  rmSync(work, { recursive: true, force: true });
}
