/**
 * The agent's own flags (jobs, shadow, state). Wired by hand until the
 * config keys carry their flags (the lead's config refactor).
 */
import type { Command } from 'commander';
import type { ConfigKey } from '../config/schema.js';

export interface AgentFlags {
  stateDir?: string;
  jobs?: boolean;
  jobsHandlerDir?: string;
  shadow?: boolean;
  shadowName?: string;
}

export function addAgentOptions(command: Command): Command {
  return command
    .option('--state-dir <dir>', 'persistent state: jobs progress (config: stateDir; default /var/lib/trustlink)')
    .option('--jobs', 'run AWS IoT Jobs with the handlers in the handler directory (config: jobs)')
    .option('--jobs-handler-dir <dir>', 'where job handlers are (config: jobsHandlerDir; default /etc/trustlink/jobs.d)')
    .option('--shadow', 'report the device state in a named shadow and apply a few desired settings (config: shadow)')
    .option('--shadow-name <name>', 'the named shadow (config: shadowName; default trustlink)');
}

export function agentFlagsToConfig(flags: AgentFlags): Partial<Record<ConfigKey, unknown>> {
  return { stateDir: flags.stateDir, jobs: flags.jobs, jobsHandlerDir: flags.jobsHandlerDir, shadow: flags.shadow, shadowName: flags.shadowName };
}
