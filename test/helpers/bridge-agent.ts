/** `trustlink run` with its local MQTT endpoint on a unix socket and a loopback TCP port of the test's own. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus } from '../../src/agent/status.js';
import type { BridgeStatus } from '../../src/bridge/bridge.js';
import { asUserArgv, ensureSystemUser, SERVICE_USER } from './as-user.js';
import { TRUSTLINK } from './paths.js';
import { freePort } from './ports.js';
import { RunningCli, trustlink } from './run.js';

/** `trustlink status --json` of an agent that runs the bridge. */
export type BridgeAgentStatus = AgentStatus & { services: { bridge: BridgeStatus } };

export interface BridgeAgent {
  agent: RunningCli;
  socket: string;
  tcpPort: number;
  runtimeDir: string;
  spoolDir: string;
  /** `trustlink status --json` of this agent. */
  status(): Promise<BridgeAgentStatus>;
  /** Polls `trustlink status` (rewritten every 2 s) until `predicate` holds; returns that status. */
  waitForStatus(what: string, predicate: (status: BridgeAgentStatus) => boolean, timeoutMs?: number): Promise<BridgeAgentStatus>;
  stop(): Promise<number | null>;
}

export interface BridgeAgentOptions {
  /** Connection flags (endpoint, identity, mode). */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Folder for the socket, status file and spool; the same folder twice means the same spool. */
  dir: string;
  extra?: string[];
  tcpPort?: number;
  /** Wait for the first CONNACK too (not when the broker is meant to be down). */
  waitConnected?: boolean;
  /**
   * As the unit runs it (User=trustlink): `dir` and its runtime and state folders made as systemd's
   * RuntimeDirectory= and StateDirectory= would (owned by that user, 0755); the caller gives the
   * identity's files to that user as the image does.
   */
  asServiceUser?: boolean;
}

export async function startBridgeAgent(options: BridgeAgentOptions): Promise<BridgeAgent> {
  const runtimeDir = join(options.dir, 'run');
  const spoolDir = join(options.dir, 'spool');
  const socket = join(runtimeDir, 'mqtt.sock');
  const tcpPort = options.tcpPort ?? await freePort();
  const args = [
    'run', ...options.args,
    '--local-listen', `unix:${socket}`, '--local-listen', `tcp://127.0.0.1:${tcpPort}`,
    '--runtime-dir', runtimeDir, '--state-dir', join(options.dir, 'state'), '--spool-dir', spoolDir,
    ...(options.extra ?? []),
  ];
  let agent: RunningCli;
  if (options.asServiceUser) {
    const user = ensureSystemUser();
    for (const folder of [options.dir, runtimeDir, join(options.dir, 'state')]) {
      mkdirSync(folder, { recursive: true });
      chmodSync(folder, 0o755);
      execFileSync('chown', [`${user.uid}:${user.gid}`, folder]);
    }
    const [file, argv] = asUserArgv(TRUSTLINK, args, SERVICE_USER);
    agent = new RunningCli(argv, options.env, file);
  } else {
    agent = new RunningCli(args, options.env);
  }
  await agent.waitFor('the local endpoint', () => agent.countLogs('local MQTT endpoint listening') === 1, 30_000);
  if (options.waitConnected ?? true) await agent.waitFor('the upstream connection', () => agent.countLogs('connected') >= 1, 30_000);
  const status = async (): Promise<BridgeAgentStatus> => {
    const result = await trustlink(['--json', 'status', '--runtime-dir', runtimeDir], options.env);
    if (result.code !== 0) throw new Error(`trustlink status exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as BridgeAgentStatus;
  };
  return {
    agent, socket, tcpPort, runtimeDir, spoolDir, status,
    async waitForStatus(what, predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = await status();
        if (predicate(current)) return current;
        if (Date.now() > deadline) throw new Error(`timed out waiting for status: ${what}; last: ${JSON.stringify(current)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    stop: () => agent.stop(),
  };
}
