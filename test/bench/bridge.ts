/**
 * The local bridge against what a user would pick instead, in one run on
 * loopback: QoS 1 messages from one local client to a subscriber on the
 * upstream mosquitto (mTLS), through `trustlink run` (key in SoftHSM2,
 * --upstream-flow-control none) and through mosquitto's own bridge (a file
 * key: mosquitto cannot use the token without an OpenSSL engine). Then the
 * agent's RSS idle and with 10,000 spooled messages beside an idle node
 * (3 s after the burst that spooled them, and once V8 has given back what
 * the burst grew), the offline ingest rate (each message fsync'd in the
 * spool before its PUBACK) and the replay rate after reconnect. Figures only.
 *
 * The agent runs with its unit's NODE_OPTIONS (meta-trustlink/.../trustlink.service).
 *
 *   node test/bench/run.mjs test/bench/bridge.ts      (after node bundle/build.mjs)
 *   Run with: env -u NODE_EXTRA_CA_CERTS -u SSL_CERT_FILE
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBridgeAgent, type BridgeAgent } from '../helpers/bridge-agent.js';
import { fileClientCert } from '../helpers/mqtt-clients.js';
import { freePort } from '../helpers/ports.js';
import { createStack } from '../helpers/stack.js';
import { unitVariables } from '../integration/units/unit-file.js';
import { percentile, publishLoad, rssMiB, subscriber, type Target } from './mqtt-load.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const SPOOLED = 10_000;
/** In flight from the local client: the agent's Receive Maximum. */
const WINDOW = 100;
const LATENCY_MESSAGES = 2_000;
/** A steady load well past AWS IoT's 100 publishes/s a connection, and below what the agent can carry: latency without a queue. */
const PACED_PER_SECOND = 1_000;
const PACED_MESSAGES = 5_000;
/** V8 gives the heap grown during a burst back only once allocation has been quiet for a while. */
const SETTLE_AFTER_BURST_MS = 60_000;
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The watcher on the upstream broker shares 2 cores with the load; mosquitto's default (1000 queued a
// client) drops messages for a subscriber that falls behind, which would measure the watcher.
const stack = await createStack('bench-bridge', { brokerConfig: () => ['max_queued_messages 0'] });
const children: ChildProcess[] = [];
const agents: BridgeAgent[] = [];
try {
  const watcher = await fileClientCert(stack, 'watcher');
  const bridgeKey = await fileClientCert(stack, 'mosquitto-bridge');
  const upstream: Target = { host: 'localhost', port: stack.broker.port, tls: { ca: stack.pki.caFile, cert: watcher.cert, key: watcher.key } };
  const rows: string[][] = [];
  // The agent as its unit runs it: with the unit's Node options.
  const agentEnv = { ...stack.env, NODE_OPTIONS: unitVariables('trustlink.service').NODE_OPTIONS };

  /**
   * Throughput with WINDOW in flight, and latency three ways: with that window full (mostly time in the
   * queue: in flight / throughput), at a steady PACED_PER_SECOND, and with one message in flight at a time.
   */
  async function measure(name: string, local: Target, topic: string): Promise<number> {
    const sub = await subscriber(upstream, `${topic}/#`);
    const reset = (): void => {
      sub.latenciesMs.length = 0;
      sub.arrivals.length = 0;
    };
    const p50p99 = (): number[] => [percentile(sub.latenciesMs, 50), percentile(sub.latenciesMs, 99)];
    try {
      await publishLoad(local, `${topic}/warm`, 500, { window: WINDOW });
      await sub.waitFor(500, 30_000);
      reset();
      const started = performance.now() + performance.timeOrigin;
      await publishLoad(local, `${topic}/x`, MESSAGES, { window: WINDOW });
      await sub.waitFor(MESSAGES, 120_000);
      const rate = MESSAGES / (((sub.arrivals.at(-1) as number) - started) / 1000);
      const loaded = p50p99();
      reset();
      await publishLoad(local, `${topic}/paced`, PACED_MESSAGES, { window: WINDOW, perSecond: PACED_PER_SECOND });
      await sub.waitFor(PACED_MESSAGES, 60_000);
      const paced = p50p99();
      reset();
      await publishLoad(local, `${topic}/one`, LATENCY_MESSAGES, { window: 1 });
      await sub.waitFor(LATENCY_MESSAGES, 60_000);
      const alone = p50p99();
      rows.push([name, rate.toFixed(0), ...[...loaded, ...paced, ...alone].map((ms) => ms.toFixed(2))]);
      return rate;
    } catch (error) {
      const drops = stack.broker.log.filter((line) => line.includes('dropped'));
      throw new Error(`${name}: ${(error as Error).message}; upstream broker: ${drops.join(' | ') || 'dropped nothing'}`);
    } finally {
      sub.close();
    }
  }

  // mosquitto's own bridge: a plain local listener, bridged out to the upstream broker with mTLS.
  const localPort = await freePort();
  const config = join(stack.dir, 'mosquitto-bridge.conf');
  writeFileSync(config, [
    `listener ${localPort} 127.0.0.1`, 'allow_anonymous true', `user ${process.env.USER ?? 'root'}`,
    'connection upstream', `address localhost:${stack.broker.port}`, 'topic bench-mosq/# out 1', 'remote_clientid mosquitto-bridge', 'cleansession true',
    `bridge_cafile ${stack.pki.caFile}`, `bridge_certfile ${bridgeKey.cert}`, `bridge_keyfile ${bridgeKey.key}`, '',
  ].join('\n'));
  const mosquitto = spawn('mosquitto', ['-c', config], { stdio: 'ignore' });
  children.push(mosquitto);
  await settle(1_500);

  const agent = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: agentEnv, dir: join(stack.dir, 'agent'), extra: ['--upstream-flow-control', 'none'] });
  agents.push(agent);
  const pid = agent.agent.child.pid as number;
  await settle(3_000);
  const idleRss = rssMiB(pid);

  const viaMosquitto = await measure('mosquitto bridge (file key)', { port: localPort }, 'bench-mosq');
  const viaAgent = await measure('trustlink run (SoftHSM2 key), unix socket', { path: agent.socket }, 'bench-agent');
  await agent.stop();
  agents.pop();

  // An idle node, for the RSS baseline.
  const idleNode = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  children.push(idleNode);
  await settle(3_000);
  const nodeRss = rssMiB(idleNode.pid as number);

  // 10,000 spooled: an agent that cannot reach the broker (a port nobody serves).
  const spoolDir = join(stack.dir, 'spooling');
  const offlineArgs = stack.args.map((arg, index) => (stack.args[index - 1] === '--port' ? String(localPort + 1) : arg));
  const offline = await startBridgeAgent({ args: [...offlineArgs, '--client-id', 'thing-1'], env: agentEnv, dir: spoolDir, waitConnected: false });
  agents.push(offline);
  const ingestMs = await publishLoad({ path: offline.socket }, 'bench-replay/x', SPOOLED, { window: WINDOW, payloadBytes: 100 });
  const spooled = (await offline.waitForStatus('all spooled', (status) => status.services.bridge.spool.messages === SPOOLED)).services.bridge.spool;
  await settle(3_000);
  const spooledRss = rssMiB(offline.agent.child.pid as number);
  await settle(SETTLE_AFTER_BURST_MS);
  const settledRss = rssMiB(offline.agent.child.pid as number);
  await offline.stop();
  agents.pop();

  // Replay: the same spool, now with the broker in reach.
  const sub = await subscriber(upstream, 'bench-replay/#');
  const replayStarted = performance.now() + performance.timeOrigin;
  const online = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: agentEnv, dir: spoolDir, extra: ['--upstream-flow-control', 'none'] });
  agents.push(online);
  await sub.waitFor(SPOOLED, 120_000);
  const replaySeconds = ((sub.arrivals.at(-1) as number) - (sub.arrivals[0] as number)) / 1000;
  const replayTotalSeconds = ((sub.arrivals.at(-1) as number) - replayStarted) / 1000;
  sub.close();

  console.log(`\nbridge benchmark: ${MESSAGES} QoS 1 messages of 64 bytes, ${WINDOW} in flight, loopback (node ${process.version}, ${process.platform}-${process.arch})\n`);
  const paced = `${PACED_PER_SECOND.toLocaleString('en')}/s paced`;
  console.log(`| path | msgs/s (${WINDOW} in flight) | p50 ms | p99 ms | p50 ms, ${paced} | p99 ms, ${paced} | p50 ms, 1 in flight | p99 ms, 1 in flight |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`\nagent / mosquitto bridge throughput: ${(viaAgent / viaMosquitto).toFixed(2)}`);
  console.log('\n| figure | value |\n| --- | ---: |');
  console.log(`| idle node RSS | ${nodeRss.toFixed(1)} MiB |`);
  console.log(`| agent RSS, idle, connected | ${idleRss.toFixed(1)} MiB |`);
  const spooledFigure = (rss: number): string => `${rss.toFixed(1)} MiB (node + ${(rss - nodeRss).toFixed(1)})`;
  console.log(`| agent RSS, ${spooled.messages} spooled (${(spooled.bytes / 1024 / 1024).toFixed(1)} MiB on disk), 3 s after the burst | ${spooledFigure(spooledRss)} |`);
  console.log(`| the same, ${SETTLE_AFTER_BURST_MS / 1000} s later | ${spooledFigure(settledRss)} |`);
  console.log(`| offline ingest, each fsync'd before its PUBACK | ${(SPOOLED / (ingestMs / 1000)).toFixed(0)} msgs/s |`);
  console.log(`| replay after reconnect, first to last message | ${(SPOOLED / replaySeconds).toFixed(0)} msgs/s |`);
  console.log(`| replay incl. agent start and connect | ${replayTotalSeconds.toFixed(2)} s |`);
} finally {
  for (const agent of agents) await agent.stop();
  for (const child of children) {
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  }
  await stack.close();
}
