/** trustlink status: what the running agent is doing, read from its status file. */
import { Command } from 'commander';
import { readStatusFile } from '../agent/status-file.js';
import { createContext } from './context.js';
import { exitStatusHelp } from './exit-status.js';
import { addSettingFlags } from './setting-flags.js';
import { renderStatus } from './status-render.js';

export function statusCommand(): Command {
  const command = new Command('status')
    .description('show what the running agent is doing: connection, local clients, upstream subscriptions, spool, counters');
  addSettingFlags(command, ['runtime']);
  command.addHelpText('after', `
Reads <runtimeDir>/status.json, which trustlink run rewrites every 2 seconds
and removes when it stops.

Examples:
  trustlink status
  trustlink --json status | jq .services.bridge.spool`);
  command.addHelpText('after', exitStatusHelp('the agent is running; its status was printed', ['usage', 'unavailable', 'config']));
  return command.action((_flags: unknown, self: Command) => {
    const { loaded, output } = createContext(self, ['runtime']);
    const status = readStatusFile(loaded.config.runtimeDir);
    output.result(renderStatus(status), status as unknown as Record<string, unknown>);
  });
}
