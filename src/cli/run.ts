/** trustlink run: the long-running agent, for systemd (Type=notify) or a terminal. */
import { Command } from 'commander';
import { createNotifier } from '../agent/sd-notify.js';
import { runAgent } from '../agent/agent.js';
import { describeListenAddressProblem } from '../config/listen-address.js';
import type { SettingGroup } from '../config/setting.js';
import { TrustlinkError } from '../errors.js';
import { addSettingFlags } from './setting-flags.js';
import { createContext } from './context.js';
import { stopOnSignals } from './stop-signals.js';
import { CONNECTING_EXITS, exitStatusHelp } from './exit-status.js';

const GROUPS: readonly SettingGroup[] = ['connection', 'state', 'agent', 'runtime'];

/** A --local-listen that is not loopback is a usage error, not a config one: the flag is what is wrong. */
function checkListenFlags(addresses: string[] | undefined): void {
  for (const address of addresses ?? []) {
    const problem = describeListenAddressProblem(address);
    if (problem !== undefined) throw new TrustlinkError('USAGE', `--local-listen ${problem}`, { hint: 'e.g. --local-listen unix:/run/trustlink/mqtt.sock or --local-listen tcp://127.0.0.1:1883' });
  }
}

export function runCommand(version: string): Command {
  const command = new Command('run')
    .description('stay connected: reconnect with backoff, serve local MQTT clients, spool, publish health, tell systemd; stop on SIGTERM');
  addSettingFlags(command, GROUPS);
  command.addHelpText('after', `
Local programs publish and subscribe through the agent's MQTT endpoint
(MQTT 3.1.1 and 5, QoS 0 and 1) with the device's identity; AWS IoT sees
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
  command.addHelpText('after', exitStatusHelp('stopped by SIGTERM or SIGINT', CONNECTING_EXITS));
  return command.action(async (flags: { localListen?: string[] }, self: Command) => {
    checkListenFlags(flags.localListen);
    const { loaded, log, env, connectionInputs } = createContext(self, GROUPS);
    const signals = stopOnSignals(log);
    try {
      await runAgent({ config: loaded.config, log, env, connectionInputs, notifier: createNotifier(env, log), version, stop: signals.controller.signal });
    } finally {
      signals.release();
    }
  });
}
