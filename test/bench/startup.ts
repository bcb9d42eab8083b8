/**
 * npm run bench, the start-up part: wall time, CPU time and peak RSS of the
 * built CLI's one-shot commands beside baselines measured in the same run
 * (bare `node -e 0`, aws-crt's addon loaded alone, and the same job written
 * with aws-crt alone: test/bench/aws-crt-publish.mjs), on a SoftHSM2 token
 * and on the TPM 2.0 simulator, each with a mosquitto on loopback. Rows are
 * measured in interleaved rounds (one run of every row, then the next round),
 * so load from other work on the machine falls on all rows alike. For the
 * self-test it also gives each check's own time beside the total. Writes
 * BENCHMARKS.md; prints figures, asserts nothing.
 *
 *   node test/bench/run.mjs test/bench/startup.ts      (after npm run build)
 *   BENCH_RUNS=5                                       fewer rounds (30 by default)
 *   BENCH_BEFORE=/older/dist:/other/dist               adds those builds' publish and connect rows
 *   BENCH_ONLY='publish|connect'                       only rows whose name matches this regular expression (and the baselines)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/paths.js';
import { runChecked } from '../helpers/run.js';
import { createStack, type TestStack, type TokenKind } from '../helpers/stack.js';
import { AWS_CRT_SCRIPT, awsCrtScriptEnv, buildNodelayShim } from './aws-crt-baseline.js';
import { median } from './timing.js';

// 30 rounds, as issue 17's own measurement: a run stalls on Nagle's algorithm or not (~40 ms), so fewer rounds leave a row's median at the mercy of how many of its runs stalled.
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
/** Older builds (dist folders, colon-separated) whose publish and connect rows join the same rounds. */
const BEFORE = process.env.BENCH_BEFORE?.split(':').filter(Boolean) ?? [];
const ONLY = process.env.BENCH_ONLY;
// A copy of dist/ is measured: a test run (its global setup rebuilds dist/) must not change it mid-run.
const COPY = mkdtempSync(join(tmpdir(), 'trustlink-bench-dist-'));
cpSync(join(REPO, 'dist'), COPY, { recursive: true });
const TRUSTLINK = join(COPY, 'trustlink');
const CRT_ADDON = join(COPY, 'native', `linux-${process.arch}`, 'aws-crt-nodejs.node');

interface Sample { wallMs: number; cpuMs: number; rssMiB: number; round: number }
interface Row {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The row this one is compared with (its plain aws-crt twin). */
  versus?: string;
  /** Called after each run (the self-test reads its report). */
  after?: () => void;
  samples: Sample[];
  /** First lines of failed runs, measured again. */
  failures: string[];
}

/**
 * One run: wall time, CPU time (user + system, from bash's `times` of its
 * children, in ms; it also counts GNU time's own ~1 ms) and peak RSS (GNU time).
 */
function measure(row: Row, round: number, tries = 1): Sample | undefined {
  const started = process.hrtime.bigint();
  // stdin from /dev/null: on a socket (Node's default pipes) Debian's bash reads ~/.bashrc, as under sshd.
  const result = spawnSync('bash', ['-c', '/usr/bin/time -f %M "$@"; status=$?; times >&2; exit $status', 'bench', row.command, ...row.args],
    { env: row.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    // A failed run is measured again (three tries), and every failure is reported under the table.
    row.failures.push(`${result.stdout}${result.stderr}`.split('\n')[0] ?? '');
    if (tries < 3) return measure(row, round, tries + 1);
    return undefined;
  }
  const [peakKb, , children] = result.stderr.trim().split('\n').slice(-3) as [string, string, string];
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, [, m, s]) => sum + Number(m) * 60 + Number(s), 0);
  row.after?.();
  return { wallMs, cpuMs: seconds * 1000, rssMiB: Number(peakKb) / 1024, round };
}

/** Bytes under a folder. */
function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    return sum + (entry.isDirectory() ? folderBytes(path) : statSync(path).size);
  }, 0);
}

/** The aarch64 artifact's installed size, without and with its source maps (the Yocto recipe puts those in -dbg). */
function arm64Footprint(): { withoutMaps: number; all: number } {
  execFileSync(process.execPath, [join(REPO, 'bundle', 'build.mjs'), '--arch', 'arm64'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = join(REPO, 'dist-arm64');
  const maps = readdirSync(dir).filter((name) => name.endsWith('.map')).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  const all = folderBytes(dir);
  return { withoutMaps: all - maps, all };
}

const KINDS: TokenKind[] = ['softhsm', 'tpm'];
const LABEL: Record<TokenKind, string> = { softhsm: 'SoftHSM2', tpm: 'TPM simulator' };
const stacks = new Map<TokenKind, TestStack>();
/** check id → ms per run, and the report's total, per token. */
const selftestChecks = new Map<string, { checks: Map<string, { name: string; ms: number[] }>; totals: number[] }>();

try {
  for (const kind of KINDS) stacks.set(kind, await createStack(`bench-startup-${kind}`, { token: kind }));
  const bare = { PATH: process.env.PATH };
  const rows: Row[] = [];
  const add = (row: Omit<Row, 'samples' | 'failures'>): void => {
    rows.push({ ...row, samples: [], failures: [] });
  };
  add({ name: 'node -e 0', command: process.execPath, args: ['-e', '0'], env: bare });
  add({ name: 'aws-crt addon loaded alone', command: process.execPath, args: ['-e', `require(${JSON.stringify(CRT_ADDON)})`], env: bare });

  for (const kind of KINDS) {
    const stack = stacks.get(kind) as TestStack;
    // The same key certified for 90 days: past the self-test's 30-day expiry warning, so every check passes.
    const publicKey = join(stack.dir, 'bench.pub.pem');
    writeFileSync(publicKey, await runChecked('openssl', ['x509', '-in', stack.token.certFile, '-pubkey', '-noout']));
    const cert = await stack.pki.certify(publicKey, 'thing-1', join(stack.dir, 'bench.pem'), 90);
    const args = [...stack.args, '--log-level', 'warn'];
    args[args.indexOf('--cert') + 1] = cert;
    const env = { ...stack.env, AWS_CRT_NODEJS_SUPPRESS_NODE_DEPRECATION_WARNING: 'true' };
    const crtEnv = awsCrtScriptEnv(env, { host: 'localhost', port: stack.broker.port }, stack.token, cert, stack.pki);
    const on = LABEL[kind];
    // A client ID per row: a connection never takes over the broker's session of another row's.
    const publishArgs = (id: string): string[] => ['publish', ...args, '--client-id', `bench-${kind}-${id}`, '--topic', 'bench/one', '--message', 'hello', '--count', '1', '--qos', '1'];
    const connectArgs = (id: string): string[] => ['connect', ...args, '--client-id', `bench-${kind}-${id}`];
    add({ name: `aws-crt alone: connect + 1 QoS 1 publish, ${on}`, command: process.execPath, args: [AWS_CRT_SCRIPT], env: { ...crtEnv, BENCH_CLIENT_ID: 'crt-publish' } });
    add({ name: `trustlink publish --count 1 --qos 1, ${on}`, command: TRUSTLINK, args: publishArgs('publish'), env, versus: `aws-crt alone: connect + 1 QoS 1 publish, ${on}` });
    // A compile cache of its own for each older build: saving one build's cache deletes the other builds' caches in the folder.
    const beforeEnv = (index: number): NodeJS.ProcessEnv => ({ ...env, XDG_CACHE_HOME: join(stack.dir, `cache-before-${index}`) });
    for (const [index, dir] of BEFORE.entries()) add({ name: `${dir}: trustlink publish, ${on}`, command: join(dir, 'trustlink'), args: publishArgs(`publish-${index}`), env: beforeEnv(index), versus: `aws-crt alone: connect + 1 QoS 1 publish, ${on}` });
    add({ name: `aws-crt alone: connect, ${on}`, command: process.execPath, args: [AWS_CRT_SCRIPT, 'connect'], env: { ...crtEnv, BENCH_CLIENT_ID: 'crt-connect' } });
    add({ name: `trustlink connect, ${on}`, command: TRUSTLINK, args: connectArgs('connect'), env, versus: `aws-crt alone: connect, ${on}` });
    for (const [index, dir] of BEFORE.entries()) add({ name: `${dir}: trustlink connect, ${on}`, command: join(dir, 'trustlink'), args: connectArgs(`connect-${index}`), env: beforeEnv(index), versus: `aws-crt alone: connect, ${on}` });
    for (const [what, extra] of [['selftest --no-network', ['--no-network']], ['selftest (network, round trip)', []]] as const) {
      const report = join(stack.dir, `selftest-${extra.length}.json`);
      const name = `trustlink ${what}, ${on}`;
      const found = { checks: new Map<string, { name: string; ms: number[] }>(), totals: [] as number[] };
      selftestChecks.set(name, found);
      add({
        name, command: TRUSTLINK, args: ['selftest', ...args, ...extra, '--client-id', `bench-${kind}-selftest-${extra.length}`, '--report', report],
        env: { ...env, TRUSTLINK_SELFTEST_TOPIC: 'bench/selftest' },
        after() {
          const parsed = JSON.parse(readFileSync(report, 'utf8')) as { durationMs: number; checks: Array<{ id: string; name: string; status: string; durationMs: number }> };
          found.totals.push(parsed.durationMs);
          for (const check of parsed.checks.filter((entry) => entry.status !== 'skip')) {
            const entry = found.checks.get(check.id) ?? { name: check.name, ms: [] };
            entry.ms.push(check.durationMs);
            found.checks.set(check.id, entry);
          }
        },
      });
    }
    if (kind === 'softhsm') {
      // What Nagle's algorithm with delayed ACKs costs both: the same two rows with TCP_NODELAY set by a preload.
      const shim = buildNodelayShim(stack.dir);
      add({ name: `TCP_NODELAY preload: aws-crt alone: connect + 1 QoS 1 publish, ${on}`, command: process.execPath, args: [AWS_CRT_SCRIPT], env: { ...crtEnv, BENCH_CLIENT_ID: 'crt-nodelay', LD_PRELOAD: shim } });
      add({ name: `TCP_NODELAY preload: trustlink publish, ${on}`, command: TRUSTLINK, args: publishArgs('nodelay'), env: { ...env, LD_PRELOAD: shim }, versus: `TCP_NODELAY preload: aws-crt alone: connect + 1 QoS 1 publish, ${on}` });
      add({ name: `trustlink hsm list, ${on}`, command: TRUSTLINK, args: ['hsm', 'list', '--pkcs11-module', stack.token.modulePath], env });
    }
  }
  add({ name: 'trustlink --help (answered by the launcher)', command: TRUSTLINK, args: ['--help'], env: bare });
  add({ name: 'trustlink publish --help (the bundle)', command: TRUSTLINK, args: ['publish', '--help'], env: bare });

  const measured = rows.filter((row) => ONLY === undefined || row.name.startsWith('node') || row.name.startsWith('aws-crt') || new RegExp(ONLY).test(row.name));
  for (const row of measured) measure(row, -1); // warm the page cache (and the TPM's object cache)
  for (const [, found] of selftestChecks) { found.totals.length = 0; found.checks.clear(); }
  for (let round = 0; round < RUNS; round++) {
    for (const row of measured) {
      const sample = measure(row, round);
      if (sample) row.samples.push(sample);
    }
  }

  const pick = (row: Row, key: keyof Sample): number => (row.samples.length > 0 ? median(row.samples.map((sample) => sample[key])) : Number.NaN);
  /** The median of a row's wall time over its twin's in the same round: each pair of runs shared the machine's load of that moment. */
  const pairedRatio = (row: Row, versus: Row): number => {
    const twin = new Map(versus.samples.map((sample) => [sample.round, sample.wallMs]));
    const ratios = row.samples.flatMap((sample) => { const other = twin.get(sample.round); return other === undefined ? [] : [sample.wallMs / other]; });
    return ratios.length > 0 ? median(ratios) : Number.NaN;
  };
  const byName = new Map(measured.map((row) => [row.name, row]));
  const base = measured[0] as Row;
  const lines = [
    '# Benchmarks', '',
    `Written by \`npm run bench\` (test/bench/startup.ts), ${new Date().toISOString().slice(0, 10)}: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ` +
      `medians of ${RUNS} interleaved rounds (each round runs every row once); load average ${loadavg()[0]?.toFixed(1)} at the end (other work on the machine inflates wall and CPU time alike). ` +
      'Run with `env -u NODE_EXTRA_CA_CERTS -u SSL_CERT_FILE` (a device has neither; with them Node reads a CA bundle at start-up); ' +
      'the commands get only PATH, HOME and what the token\'s module needs. CPU is user + system time. The two "vs aws-crt" columns compare a row with the same job written with aws-crt alone (test/bench/aws-crt-publish.mjs) on the same token: ' +
      '"per round" is the median of the ratios of the two runs of each round, "medians" the ratio of the two rows\' medians. ' +
      'Each run either stalls ~40 ms on Nagle\'s algorithm (see the floors below) or does not, independently of the other, so a row\'s median can fall on either side of that gap: the per-round ratio is the steadier of the two.', '',
    '| command | wall (ms) | vs node -e 0 | vs aws-crt, per round | vs aws-crt, medians | CPU (ms) | peak RSS (MiB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...measured.map((row) => {
      const versus = row.versus !== undefined ? byName.get(row.versus) : undefined;
      const perRound = versus ? `${pairedRatio(row, versus).toFixed(2)}x` : '';
      const ofMedians = versus ? `${(pick(row, 'wallMs') / pick(versus, 'wallMs')).toFixed(2)}x` : '';
      return `| ${row.name} | ${pick(row, 'wallMs').toFixed(1)} | ${(pick(row, 'wallMs') / pick(base, 'wallMs')).toFixed(2)}x | ${perRound} | ${ofMedians} | ${pick(row, 'cpuMs').toFixed(0)} | ${pick(row, 'rssMiB').toFixed(1)} |`;
    }),
    '',
  ];
  lines.push('## Floors that are not trustlink\'s own code', '',
    '- **aws-crt\'s addon**: "aws-crt addon loaded alone" less `node -e 0`; issue 17 found ~46 of its ~63 ms in AWS-LC\'s CPU-jitter entropy collection, run on the main thread when the addon loads. The plain script and trustlink both pay it.',
    '- **Nagle\'s algorithm with delayed ACKs**: a ~40 ms stall after the TLS handshake on loopback, in both; the "TCP_NODELAY preload" rows (test/bench/nodelay-preload.c, an LD_PRELOAD shim, benchmarks only) show it. ' +
      'aws-crt-nodejs offers no way to set TCP_NODELAY: its `SocketOptions` hands `io_socket_options_new` seven values (type, domain, connect timeout, three keep-alive numbers, keepalive), and that function (source/io.c) zeroes the rest of `aws_socket_options`, so `tcp_nodelay` stays `AWS_SOCKET_TCP_NODELAY_DEFAULT`, which aws-c-io (include/aws/io/socket.h, source/posix/socket.c) leaves at the OS default, Nagle on. aws-c-io has the option; the Node binding does not pass it (read in awslabs/aws-crt-nodejs v1.33.1 and its aws-c-io; 1.33.2\'s dist/native/io.js calls the binding with the same seven values).',
    '- **With a round-trip time** the stall stays and grows (Nagle waits for the ACK, which now also takes the RTT): the "rtt" section below measures it through a broker in a network namespace behind a delaying relay (test/bench/rtt.ts; this kernel has no netem qdisc).',
    '- **V8\'s compile cache** is in every trustlink row: the launcher keeps the bundles\' compiled code in the user\'s cache folder (Node 22.1 and later: `module.enableCompileCache`; older Node: dist/compile-cache.cjs), and the warm-up run fills it, as a device\'s first start does. Without it, compiling the bundles costs ~17 ms more at every start on Node 20.', '');
  for (const row of measured.filter((entry) => entry.failures.length > 0)) {
    const kinds = [...new Set(row.failures)].join('; ');
    lines.push(`**${row.name}**: ${row.failures.length} failed run(s), ${row.samples.length} of ${RUNS} rounds measured: ${kinds}`, '');
  }
  for (const [name, found] of selftestChecks) {
    const row = byName.get(name);
    if (!row || found.totals.length === 0) continue;
    const checks = [...found.checks.values()].map((check) => ({ name: check.name, ms: median(check.ms) }));
    const sum = checks.reduce((total, check) => total + check.ms, 0);
    lines.push(`${name}: process ${pick(row, 'wallMs').toFixed(0)} ms, report total ${median(found.totals)} ms, sum of the checks ${sum} ms (medians; ms as the report rounds them):`, '',
      checks.map((check) => `${check.name} ${check.ms}`).join(' · '), '');
  }
  if (ONLY === undefined) {
    const stack = stacks.get('softhsm') as TestStack;
    const throughput = Array.from({ length: 3 }, () => {
      const out = execFileSync(TRUSTLINK, ['--json', 'publish', ...stack.args, '--client-id', 'bench-many', '--topic', 'bench/many', '--message', 'm {n}', '--count', '1000', '--qos', '1'], { env: stack.env, encoding: 'utf8' });
      return 1000 / ((JSON.parse(out) as { elapsedMs: number }).elapsedMs / 1000);
    });
    lines.push(`publish --count 1000 --qos 1 (SoftHSM2): ${median(throughput).toFixed(0)} messages/s (median of 3; aws-crt's AWS IoT Core flow control caps a connection at 100 publishes/s)`, '');
    const footprint = arm64Footprint();
    const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
    lines.push(`Installed size of the aarch64 artifact (dist-arm64/): ${mib(footprint.withoutMaps)} MiB, ${mib(footprint.all)} MiB with its source maps.`, '');
  }
  console.log(`\n${lines.join('\n')}`);
  if (ONLY === undefined && BEFORE.length === 0) writeFileSync(join(REPO, 'BENCHMARKS.md'), lines.join('\n'));
} finally {
  for (const stack of stacks.values()) await stack.close();
  rmSync(COPY, { recursive: true, force: true });
}
