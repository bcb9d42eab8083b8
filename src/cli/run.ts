/** trustlink run: the long-running agent, for systemd (Type=notify) or a terminal. */
import { Command } from 'commander';
import { createNotifier } from '../agent/sd-notify.js';
import { runAgent } from '../agent/agent.js';
import { addSettingFlags } from './setting-flags.js';
import { createContext } from './context.js';
import { stopOnSignals } from './stop-signals.js';
import { CONNECTING_EXITS, exitStatusHelp } from './exit-status.js';

export function runCommand(version: string): Command {
  const command = new Command('run')
    .description('stay connected: reconnect with backoff, publish health, tell systemd (READY, WATCHDOG); stop on SIGTERM');
  addSettingFlags(command, ['connection', 'state', 'agent']);
  command.addHelpText('after', `
Logs are one JSON object a line on stderr (journald under systemd). With
healthTopic set, a health message {time, version, clientId, uptimeSeconds,
reconnects} is published every healthIntervalSeconds (QoS 0, while connected).
Under systemd (Type=notify, NotifyAccess=all) it sends READY=1 once the key
and certificate checked out and the client started, and WATCHDOG=1 every
WatchdogSec/2. SIGTERM or SIGINT: disconnect and exit 0.

Example:
  trustlink --config /etc/trustlink/config.json run`);
  command.addHelpText('after', exitStatusHelp('stopped by SIGTERM or SIGINT', CONNECTING_EXITS));
  return command.action(async (_flags: unknown, self: Command) => {
    const { loaded, log, env, connectionInputs } = createContext(self, ['connection', 'state', 'agent']);
    const signals = stopOnSignals(log);
    try {
      await runAgent({ config: loaded.config, log, env, connectionInputs, notifier: createNotifier(env, log), version, stop: signals.controller.signal });
    } finally {
      signals.release();
    }
  });
}
