/**
 * npm run bench:modes: connect time of each auth mode against the AWS IoT
 * stand-in, as a ratio to mTLS measured in the same run. A script, not a
 * test: it asserts nothing and prints medians. Two figures per mode: the
 * whole `trustlink connect` process (wall), and the connect itself as the
 * CLI reports it (elapsedMs: TLS, websocket upgrade, credentials, CONNACK).
 * Then: how many credential fetches (Cognito, the IoT credentials provider)
 * a SigV4 subscriber makes across 20 reconnects within one credential
 * lifetime, and across an expiry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { REFRESH_MARGIN_MS } from '../../src/credentials/sigv4-source.js';
import { ROLE_ALIAS, THING_NAME, startProvider } from '../helpers/credentials.js';
import { RunningCli, trustlink } from '../helpers/run.js';
import { connectionModes, createStandinStack } from '../helpers/standin-stack.js';
import { median } from './timing.js';

const runs = Number(process.env.BENCH_RUNS ?? 15);

const s = await createStandinStack('bench-modes');
// The credentials provider hands out credentials the stand-in's SigV4 check accepts.
const provider = await startProvider(s.stack.pki, { issue: s.standin.issueCredentials });
try {
  const { modes, sigv4 } = connectionModes(s);
  const results: Array<{ mode: string; wallMs: number; connectMs: number }> = [];
  for (const { name: mode, args, env } of modes) {
    const wall: number[] = [];
    const connect: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const result = await trustlink(['--json', 'connect', ...args], env);
      wall.push(performance.now() - started);
      if (result.code !== 0) throw new Error(`${mode} failed: ${result.stderr}`);
      connect.push((JSON.parse(result.stdout) as { elapsedMs: number }).elapsedMs);
    }
    results.push({ mode, wallMs: median(wall), connectMs: median(connect) });
  }
  const base = results[0]!;
  console.log(`connect time per mode against the stand-in, median of ${runs} runs (ratio to mTLS in the same run)`);
  console.log('mode'.padEnd(46), 'process wall ms'.padStart(18), 'connect ms'.padStart(16));
  for (const { mode, wallMs, connectMs } of results) {
    console.log(mode.padEnd(46), `${wallMs.toFixed(0)} (${(wallMs / base.wallMs).toFixed(2)}x)`.padStart(18), `${connectMs.toFixed(0)} (${(connectMs / base.connectMs).toFixed(2)}x)`.padStart(16));
  }

  /** Subscribes over SigV4 with `args`, drops the connection 20 times, and counts the credential fetches `fetches` reports. */
  const fetchesAcross20Reconnects = async (args: string[], env: NodeJS.ProcessEnv, fetches: () => number, pauseBeforeHalfwayMs: number): Promise<number> => {
    const before = fetches();
    const subscriber = new RunningCli(['--json', 'subscribe', ...sigv4, ...args, '--topic', 'bench/reconnect'],
      { ...env, TRUSTLINK_RECONNECT_MIN_DELAY_MS: '10', TRUSTLINK_RECONNECT_MAX_DELAY_MS: '50' });
    try {
      await subscriber.waitFor('first connect', () => subscriber.countLogs('connected') === 1);
      for (let reconnect = 1; reconnect <= 20; reconnect++) {
        if (reconnect === 10) await sleep(pauseBeforeHalfwayMs);
        s.standin.dropConnections();
        await subscriber.waitFor(`reconnect ${reconnect}`, () => subscriber.countLogs('connected') === reconnect + 1);
      }
    } finally {
      await subscriber.stop();
    }
    return fetches() - before;
  };
  // Credentials that enter the refresh margin 5 s after issue (longer than 10 reconnects take);
  // the pause halfway lets the first ones get there.
  const SHORT_LIFETIME_MS = REFRESH_MARGIN_MS + 5_000;
  const cognitoFetches = async (lifetimeMs: number, pauseMs: number): Promise<number> => {
    const id = `eu-west-1:0000bbbb-0000-0000-0000-00000000000${lifetimeMs === 3_600_000 ? 1 : 2}`;
    s.standin.cognito.identities.set(id, { lifetimeMs });
    const args = ['--credentials-source', 'cognito', '--cognito-identity', id, '--cognito-endpoint', `localhost:${s.standin.ports.cognito}`];
    return fetchesAcross20Reconnects(args, s.stack.env, () => s.standin.cognito.requests, pauseMs);
  };
  const iotFetches = async (lifetimeMs: number, pauseMs: number): Promise<number> => {
    provider.lifetimeSeconds = lifetimeMs / 1000;
    // A RAM cache of its own, so the run starts without cached credentials.
    const env = { ...s.stack.env, XDG_RUNTIME_DIR: mkdtempSync('/dev/shm/trustlink-bench-') };
    try {
      const args = ['--credentials-source', 'iot', '--credentials-endpoint', provider.endpoint, '--role-alias', ROLE_ALIAS, '--thing-name', THING_NAME, ...s.device];
      return await fetchesAcross20Reconnects(args, env, () => provider.requestCount, pauseMs);
    } finally {
      rmSync(env.XDG_RUNTIME_DIR, { recursive: true, force: true });
    }
  };
  console.log('\ncredential fetches across 20 SigV4 reconnects: within one credential lifetime, across an expiry');
  console.log(`Cognito:                      ${await cognitoFetches(3_600_000, 0)}, ${await cognitoFetches(SHORT_LIFETIME_MS, 5_500)}`);
  console.log(`IoT credentials provider:     ${await iotFetches(3_600_000, 0)}, ${await iotFetches(SHORT_LIFETIME_MS, 5_500)}`);
} finally {
  await provider.stop();
  await s.close();
}
