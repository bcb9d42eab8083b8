/** trustlink status: what the running agent is doing, read from its status file. */
import { Command } from 'commander';
import { readStatusFile } from '../agent/status-file.js';
import { createContext } from './context.js';
import { renderStatus } from './status-render.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('show what the running agent is doing: connection, local clients, upstream subscriptions, spool, counters')
    .option('--runtime-dir <dir>', 'the agent\'s runtime folder, holding status.json (default: /run/trustlink)')
    .addHelpText('after', `
Reads <runtime-dir>/status.json, which trustlink run rewrites every 2 seconds.
Exits 69 (AGENT_NOT_RUNNING) when no agent is running.

Examples:
  trustlink status
  trustlink --json status | jq .services.bridge.spool`)
    .action((flags: { runtimeDir?: string }, self: Command) => {
      const { loaded, output } = createContext(self, { runtimeDir: flags.runtimeDir });
      const status = readStatusFile(loaded.config.runtimeDir);
      output.result(renderStatus(status), status as unknown as Record<string, unknown>);
    });
}
