/** trustlink run: the long-running agent, for systemd (Type=notify) or a terminal. */
import { Command, InvalidArgumentError } from 'commander';
import { createNotifier } from '../agent/sd-notify.js';
import { runAgent } from '../agent/agent.js';
import { describeListenAddressProblem } from '../bridge/listen-address.js';
import { FLOW_CONTROLS, type ConfigKey } from '../config/schema.js';
import { addConnectionOptions, connectionFlagsToConfig, type ConnectionFlags } from './connection-options.js';
import { createContext, parseChoice, parseInteger } from './context.js';
import { stopOnSignals } from './stop-signals.js';

interface RunFlags extends ConnectionFlags {
  localListen?: string[];
  forwardPublish?: string[];
  forwardSubscribe?: string[];
  stateDir?: string;
  runtimeDir?: string;
  spoolDir?: string;
  spoolMaxBytes?: number;
  upstreamFlowControl?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function collectListenAddress(value: string, previous: string[] | undefined): string[] {
  const problem = describeListenAddressProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(`${problem}.`);
  return collect(value, previous);
}

function runFlagsToConfig(flags: RunFlags): Partial<Record<ConfigKey, unknown>> {
  return {
    ...connectionFlagsToConfig(flags),
    localListen: flags.localListen,
    forwardPublish: flags.forwardPublish,
    forwardSubscribe: flags.forwardSubscribe,
    stateDir: flags.stateDir,
    runtimeDir: flags.runtimeDir,
    spoolDir: flags.spoolDir,
    spoolMaxBytes: flags.spoolMaxBytes,
    upstreamFlowControl: flags.upstreamFlowControl,
  };
}

export function runCommand(version: string): Command {
  const command = new Command('run')
    .description('stay connected: reconnect with backoff, serve local MQTT clients, spool, publish health, tell systemd; stop on SIGTERM');
  addConnectionOptions(command);
  command
    .option('--local-listen <address>', 'local MQTT endpoint: unix:/PATH or tcp://127.0.0.1:PORT / tcp://[::1]:PORT, repeatable (default: unix:<runtime-dir>/mqtt.sock)', collectListenAddress)
    .option('--forward-publish <filter>', 'only topics matching this filter may be published by local clients (repeatable; default: any)', collect)
    .option('--forward-subscribe <filter>', 'only filters within this one may be subscribed by local clients (repeatable; default: any)', collect)
    .option('--state-dir <dir>', 'persistent state (default: /var/lib/trustlink)')
    .option('--runtime-dir <dir>', 'RAM folder for the local socket and status.json (default: /run/trustlink)')
    .option('--spool-dir <dir>', 'where local QoS 1 messages wait for AWS IoT (default: <state-dir>/spool)')
    .option('--spool-max-bytes <bytes>', 'the spool never grows past this (default: 67108864, 64 MiB)', parseInteger(64 * 1024, Number.MAX_SAFE_INTEGER))
    .option('--upstream-flow-control <mode>', `${FLOW_CONTROLS.join(' or ')}: aws-crt holds publishes to AWS IoT Core's 100/s, or (none) not, for other brokers (default: aws-iot)`, parseChoice(FLOW_CONTROLS));
  command.addHelpText('after', `
Local programs publish and subscribe through the agent's MQTT endpoint
(MQTT 3.1.1 and 5, QoS 0 and 1), with the device's identity; AWS IoT sees
only the device's client ID. A local QoS 1 publish is acknowledged once AWS
IoT acknowledged it or it is fsync'd in the spool; while the uplink is down
messages wait there and leave in order once connected.

Logs are one JSON object a line on stderr (journald under systemd). With
healthTopic set, a health message {time, version, clientId, uptimeSeconds,
reconnects, services} is published every healthIntervalSeconds (QoS 0, while
connected). Under systemd (Type=notify, NotifyAccess=all) it sends READY=1
once the key and certificate checked out and the client started, STATUS=
with the spool depth, and WATCHDOG=1 every WatchdogSec/2. SIGTERM or
SIGINT: disconnect and exit 0. trustlink status shows what it is doing.

Examples:
  trustlink --config /etc/trustlink/config.json run
  mosquitto_pub --unix /run/trustlink/mqtt.sock -t dt/thing-1/temp -m 21.5 -q 1`);
  return command.action(async (flags: RunFlags, self: Command) => {
    const { loaded, log, env } = createContext(self, runFlagsToConfig(flags));
    const signals = stopOnSignals(log);
    try {
      await runAgent({ config: loaded.config, log, env, notifier: createNotifier(env, log), version, stop: signals.controller.signal });
    } finally {
      signals.release();
    }
  });
}
