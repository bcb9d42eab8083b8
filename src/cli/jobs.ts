/** trustlink jobs: the job in progress and the last ten results, from the state folder (no connection). */
import { Command } from 'commander';
import type { CurrentJob, JobResult } from '../jobs/machine.js';
import { jobsDir, readJobsState } from '../jobs/store.js';
import { createContext } from './context.js';
import { exitStatusHelp } from './exit-status.js';
import { addSettingFlags } from './setting-flags.js';

function formatCurrent(job: CurrentJob | undefined): string {
  if (job === undefined) return 'no job in progress';
  const phase = job.phase === 'reporting' ? `reporting ${job.verdict?.status ?? ''}` : job.phase;
  return `in progress: ${job.jobId} (${job.operation}), ${phase} since ${job.startedAt}`;
}

function formatResult(result: JobResult): string {
  const reason = result.statusDetails.reason !== undefined ? `: ${result.statusDetails.reason}` : '';
  return `  ${result.finishedAt}  ${result.status.padEnd(11)} ${result.jobId} (${result.operation})${reason}${result.note !== undefined ? ` [${result.note}]` : ''}`;
}

export function jobsCommand(): Command {
  const command = new Command('jobs')
    .description('show the AWS IoT job in progress and the last ten results on this device (read from --state-dir)');
  addSettingFlags(command, ['state']);
  return command
    .addHelpText('after', `
The agent (trustlink run --jobs) keeps its progress in <state-dir>/jobs/.
A status other than the one the device reported (TIMED_OUT, CANCELED,
UNKNOWN) comes with a note saying what AWS IoT answered.

Example:
  trustlink jobs --json
${exitStatusHelp('shown', ['usage', 'config'])}`)
    .action((_flags: unknown, self: Command) => {
      const { loaded, output } = createContext(self, ['state']);
      const { stateDir } = loaded.config;
      const { current, history } = readJobsState(stateDir);
      const lines = [formatCurrent(current), history.length === 0 ? 'no finished jobs' : `last ${history.length} finished (newest first):`, ...history.map(formatResult)];
      output.result(lines.join('\n'), { event: 'jobs', dir: jobsDir(stateDir), current: current ?? null, history });
    });
}
