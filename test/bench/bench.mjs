#!/usr/bin/env node
// npm run bench: start-up time, peak memory and throughput of the built CLI,
// beside baselines measured in the same run (bare `node -e 0`, and the same
// job written with aws-crt alone). A script, not a test: it asserts nothing
// and prints medians, with the targets of issue 8, and writes them to
// BENCHMARKS.md. Runs against a SoftHSM2 token and a mosquitto on loopback.
// Also reports the installed size of the aarch64 artifact (npm run build -- --arch arm64).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const trustlink = join(root, 'dist', 'trustlink');
const runs = Number(process.env.BENCH_RUNS ?? 15);
const work = mkdtempSync(join(tmpdir(), 'trustlink-bench-'));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Wall time (ms), CPU time (ms, user + system) and peak RSS (MiB) of one run:
 * RSS from GNU time, CPU from bash's `times` (its children, in ms; GNU time
 * rounds to 10 ms), which also counts GNU time's own ~1 ms.
 */
function measure(command, args, env) {
  const started = process.hrtime.bigint();
  // stdin from /dev/null: on a socket (Node's default pipes) Debian's bash reads ~/.bashrc, as under sshd.
  const result = spawnSync('bash', ['-c', '/usr/bin/time -f %M "$@"; status=$?; times >&2; exit $status', 'bench', command, ...args],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  const [peakKb, , children] = result.stderr.trim().split('\n').slice(-3);
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, [, m, s]) => sum + Number(m) * 60 + Number(s), 0);
  return { wallMs, cpuMs: seconds * 1000, rssMiB: Number(peakKb) / 1024 };
}

/** target(wall ratio to `node -e 0`, this row, all rows): a sentence, or undefined when the row has no target. */
function bench(name, command, args, env, target) {
  measure(command, args, env); // warm the page cache
  const samples = Array.from({ length: runs }, () => measure(command, args, env));
  const pick = (key) => median(samples.map((s) => s[key]));
  return { name, wallMs: pick('wallMs'), cpuMs: pick('cpuMs'), rssMiB: pick('rssMiB'), target };
}

/** Bytes under a folder. */
function folderBytes(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    return sum + (entry.isDirectory() ? folderBytes(path) : statSync(path).size);
  }, 0);
}

/** The aarch64 artifact's installed size, without and with its source maps (the Yocto recipe puts those in -dbg). */
function arm64Footprint() {
  execFileSync(process.execPath, [join(root, 'bundle', 'build.mjs'), '--arch', 'arm64'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = join(root, 'dist-arm64');
  const maps = readdirSync(dir).filter((name) => name.endsWith('.map')).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  const all = folderBytes(dir);
  return { withoutMaps: all - maps, all };
}

const sh = (file, args, env) => execFileSync(join(root, 'hsm', file), args, { env, encoding: 'utf8' });

let broker;
try {
  sh('pki.sh', ['ca', join(work, 'pki')]);
  sh('pki.sh', ['server', join(work, 'pki'), 'broker']);
  sh('softhsm.sh', ['token', join(work, 'hsm'), 'bench', 'devkey']);
  sh('softhsm.sh', ['pubkey', join(work, 'hsm'), 'bench', 'devkey', join(work, 'pub.pem')]);
  sh('pki.sh', ['certify', join(work, 'pki'), join(work, 'pub.pem'), 'bench-thing', join(work, 'device.pem')]);

  const port = await freePort();
  writeFileSync(join(work, 'mosquitto.conf'), [
    `listener ${port} 127.0.0.1`, `cafile ${work}/pki/ca.pem`, `certfile ${work}/pki/broker.pem`, `keyfile ${work}/pki/broker.key`,
    'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false', `user ${userInfo().username}`, '',
  ].join('\n'));
  broker = spawn('mosquitto', ['-c', join(work, 'mosquitto.conf')], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));

  const module = execFileSync('sh', ['-c', 'ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1'], { encoding: 'utf8' }).trim();
  const env = {
    PATH: process.env.PATH,
    SOFTHSM2_CONF: join(work, 'hsm', 'softhsm2.conf'),
    AWS_CRT_NODEJS_SUPPRESS_NODE_DEPRECATION_WARNING: 'true',
    BENCH_HOST: 'localhost', BENCH_PORT: String(port), BENCH_MODULE: module, BENCH_PIN_FILE: join(work, 'hsm', 'pin'),
    BENCH_TOKEN: 'bench', BENCH_KEY_LABEL: 'devkey', BENCH_CERT: join(work, 'device.pem'), BENCH_CA: join(work, 'pki', 'ca.pem'),
  };
  const connection = ['--endpoint', 'localhost', '--port', String(port), '--ca-file', env.BENCH_CA, '--cert', env.BENCH_CERT,
    '--key', 'pkcs11:token=bench;object=devkey', '--pkcs11-module', module, '--pin-file', env.BENCH_PIN_FILE, '--log-level', 'warn'];

  const results = [
    bench('node -e 0 (baseline)', process.execPath, ['-e', '0'], env),
    bench('aws-crt alone: connect + 1 QoS 1 publish (baseline)', process.execPath, [join(root, 'test/bench/aws-crt-publish.mjs')], env),
    bench('trustlink --help', trustlink, ['--help'], env, (ratio) => `<= 1.3x node -e 0: ${ratio <= 1.3 ? 'met' : 'MISSED'}`),
    bench('trustlink --version', trustlink, ['--version'], env),
    bench('trustlink publish --count 1', trustlink, ['publish', ...connection, '--client-id', 'bench-1', '--topic', 'bench/one', '--message', 'hello'], env,
      (ratio, row, rows) => `<= 2.0x node -e 0 and faster than aws-crt alone: ${ratio <= 2 && row.wallMs < rows[1].wallMs ? 'met' : 'MISSED'}`),
  ];
  const footprint = arm64Footprint();

  const throughput = Array.from({ length: 3 }, () => {
    const out = execFileSync(trustlink, ['--json', 'publish', ...connection, '--client-id', 'bench-many', '--topic', 'bench/many', '--message', 'm {n}', '--count', '1000', '--qos', '1'], { env, encoding: 'utf8' });
    return 1000 / (JSON.parse(out).elapsedMs / 1000);
  });

  const base = results[0].wallMs;
  const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
  const lines = [
    '# Benchmarks', '',
    `\`npm run bench\`, ${new Date().toISOString().slice(0, 10)}: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; medians of ${runs} runs; load average ${loadavg()[0].toFixed(1)} at the end (other work on the machine inflates wall and CPU time alike). CPU is user + system time.`, '',
    '| command | wall (ms) | vs node -e 0 | CPU (ms) | vs node -e 0 | peak RSS (MiB) | target (wall) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.map((r) => `| ${r.name} | ${r.wallMs.toFixed(1)} | ${(r.wallMs / base).toFixed(2)}x | ${r.cpuMs.toFixed(0)} | ${(r.cpuMs / results[0].cpuMs).toFixed(2)}x | ${r.rssMiB.toFixed(1)} | ${r.target?.(r.wallMs / base, r, results) ?? ''} |`),
    '',
    `publish --count 1000 --qos 1: ${median(throughput).toFixed(0)} messages/s (median of 3; aws-crt's AWS IoT Core flow control caps a connection at 100 publishes/s)`, '',
    `Installed size of the aarch64 artifact (dist-arm64/): ${mib(footprint.withoutMaps)} MiB, ${mib(footprint.all)} MiB with its source maps.`, '',
  ];
  console.log(`\n${lines.join('\n')}`);
  writeFileSync(join(root, 'BENCHMARKS.md'), lines.join('\n'));
} finally {
  broker?.kill();
  rmSync(work, { recursive: true, force: true });
}
