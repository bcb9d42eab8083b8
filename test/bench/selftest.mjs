#!/usr/bin/env node
// npm run bench:selftest: how long `trustlink selftest` takes with the key in
// a SoftHSM2 token and in a TPM 2.0 simulator (hsm/tpm.sh), with and without
// the network checks, beside `node -e 0` measured in the same run. Wall time
// of the whole process and the report's own durationMs (the checks alone).
// Prints medians; asserts nothing. The broker is a mosquitto on loopback.
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

const sh = (file, args, env = process.env) => execFileSync(join(root, 'hsm', file), args, { env, encoding: 'utf8' });
const envLines = (text) => Object.fromEntries(text.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)));

/** A key made inside the token, certified for 90 days (past the 30-day expiry warning). */
function certify(name, publicKeyPem) {
  const cert = join(work, `${name}.pem`);
  sh('pki.sh', ['certify', join(work, 'pki'), publicKeyPem, `bench-${name}`, cert, '90']);
  return cert;
}

function softHsmKey() {
  const token = envLines(sh('softhsm.sh', ['token', join(work, 'hsm'), 'bench', 'devkey']));
  sh('softhsm.sh', ['pubkey', join(work, 'hsm'), 'bench', 'devkey', join(work, 'softhsm.pub.pem')]);
  return {
    env: { SOFTHSM2_CONF: token.SOFTHSM2_CONF },
    config: { key: token.TRUSTLINK_KEY, pkcs11Module: token.TRUSTLINK_PKCS11_MODULE, pinFile: token.TRUSTLINK_PIN_FILE, certFile: certify('softhsm', join(work, 'softhsm.pub.pem')) },
  };
}

async function tpmKey() {
  const dir = join(work, 'tpm');
  const stack = envLines(sh('tpm.sh', ['start', dir, String(await freePort())]));
  const env = { ...process.env, ...stack };
  const pin = join(work, 'tpm-pin');
  writeFileSync(pin, '2468', { mode: 0o600 });
  sh('tpm.sh', ['token', dir, 'bench', '2468', '1357'], env);
  const module = stack.TRUSTLINK_PKCS11_MODULE;
  // Test tooling only: pkcs11-tool takes the PIN in argv.
  execFileSync('pkcs11-tool', ['--module', module, '--token-label', 'bench', '--login', '--pin', '2468', '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'devkey', '--id', '01'], { env, stdio: 'ignore' });
  execFileSync('pkcs11-tool', ['--module', module, '--token-label', 'bench', '--read-object', '--type', 'pubkey', '--label', 'devkey', '-o', join(work, 'tpm.pub.der')], { env, stdio: 'ignore' });
  execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(work, 'tpm.pub.der'), '-out', join(work, 'tpm.pub.pem')]);
  const { TRUSTLINK_PKCS11_MODULE: _module, ...tpmEnv } = stack;
  return {
    env: tpmEnv,
    config: { key: 'pkcs11:token=bench;object=devkey;type=private', pkcs11Module: module, pinFile: pin, certFile: certify('tpm', join(work, 'tpm.pub.pem')) },
    stop: () => sh('tpm.sh', ['stop', dir], env),
  };
}

let broker;
let tpm;
try {
  sh('pki.sh', ['ca', join(work, 'pki')]);
  sh('pki.sh', ['server', join(work, 'pki'), 'broker']);
  const port = await freePort();
  writeFileSync(join(work, 'mosquitto.conf'), [
    `listener ${port} 127.0.0.1`, `cafile ${work}/pki/ca.pem`, `certfile ${work}/pki/broker.pem`, `keyfile ${work}/pki/broker.key`,
    'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false', `user ${userInfo().username}`, '',
  ].join('\n'));
  broker = spawn('mosquitto', ['-c', join(work, 'mosquitto.conf')], { stdio: 'ignore' });
  await sleep(300);

  const results = [bench('node -e 0 (baseline)', process.execPath, ['-e', '0'], { PATH: process.env.PATH })];
  const keys = [['SoftHSM2', softHsmKey()], ['TPM simulator', (tpm = await tpmKey())]];
  for (const [name, key] of keys) {
    const config = join(work, `${name}.json`);
    writeFileSync(config, JSON.stringify({ endpoint: 'localhost', port, caFile: join(work, 'pki', 'ca.pem'), thingName: 'bench-thing', selftestTopic: 'bench/selftest', ...key.config }));
    const env = { PATH: process.env.PATH, ...key.env, TRUSTLINK_CONFIG: config };
    const report = join(work, 'selftest.json');
    results.push(
      bench(`${name}: trustlink selftest --no-network`, trustlink, ['selftest', '--no-network', '--report', report], env, report),
      bench(`${name}: trustlink selftest (network, round trip)`, trustlink, ['selftest', '--report', report], env, report),
    );
  }
  const base = results[0].wallMs;
  console.log(`\ntrustlink selftest, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; medians of ${runs} runs\n`);
  console.log('| command | wall (ms) | vs node -e 0 | checks alone (report durationMs) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of results) console.log(`| ${r.name} | ${r.wallMs.toFixed(1)} | ${(r.wallMs / base).toFixed(2)}x | ${r.checksMs === undefined ? '-' : r.checksMs} |`);
} finally {
  tpm?.stop();
  broker?.kill();
  rmSync(work, { recursive: true, force: true });
}
