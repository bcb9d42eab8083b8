/**
 * A stack for the agent's jobs and shadow: the usual stack (SoftHSM2 or the
 * TPM simulator, mosquitto), the Jobs and Shadow stand-ins on it, a handler
 * directory, a state directory and a runtime directory (where the boot
 * self-test report goes), and the built agent started with them.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startJobsStandin, type JobsStandin } from '../standin/jobs.js';
import { startShadowStandin, type ShadowStandin } from '../standin/shadow.js';
import { asUserArgv, ensureSystemUser, SERVICE_USER } from './as-user.js';
import { TRUSTLINK } from './paths.js';
import { RunningCli, trustlink, type RunResult } from './run.js';
import { createStack, type TestStack, type TokenKind } from './stack.js';

export const THING = 'thing-1';

/** Waits until the agent has the job's acknowledgement and recorded it (the stand-in holds the status a moment earlier). */
export function recorded(agent: RunningCli, jobId: string): Promise<void> {
  return agent.waitFor(`job ${jobId} recorded`, () => agent.logs().some((line) => line.message === 'job finished' && line.jobId === jobId));
}

export interface JobsStack {
  stack: TestStack;
  jobs: JobsStandin;
  shadow: ShadowStandin;
  handlerDir: string;
  stateDir: string;
  runtimeDir: string;
  /** Writes an executable handler script (mode 0755 unless given). */
  handler(name: string, script: string, mode?: number): string;
  /**
   * Starts `trustlink run` with jobs on (and the shadow when asked), `env` added to the stack's.
   * asServiceUser: as the unit's User=trustlink, the stack's files (token, PIN, state) chowned to it
   * as the unit's StateDirectory= and the image would; the handler directory stays root's.
   */
  agent(options?: { shadow?: boolean; jobs?: boolean; env?: NodeJS.ProcessEnv; args?: string[]; asServiceUser?: boolean }): RunningCli;
  /** `trustlink --json jobs` for this state directory. */
  jobsCli(): Promise<RunResult>;
  close(): Promise<void>;
}

export async function createJobsStack(name: string, token: TokenKind = 'softhsm'): Promise<JobsStack> {
  const stack = await createStack(name, { token });
  try {
    const jobs = await startJobsStandin({ dir: stack.dir, pki: stack.pki, broker: stack.broker });
    const shadow = await startShadowStandin({ dir: stack.dir, pki: stack.pki, broker: stack.broker });
    const handlerDir = join(stack.dir, 'jobs.d');
    const stateDir = join(stack.dir, 'state');
    const runtimeDir = join(stack.dir, 'run');
    let agentsStarted = 0;
    mkdirSync(handlerDir, { mode: 0o755 });
    chmodSync(handlerDir, 0o755);
    mkdirSync(runtimeDir, { mode: 0o700 });
    return {
      stack, jobs, shadow, handlerDir, stateDir, runtimeDir,
      handler(handlerName, script, mode = 0o755) {
        const file = join(handlerDir, handlerName);
        writeFileSync(file, `#!/bin/sh\n${script}\n`);
        chmodSync(file, mode);
        return file;
      },
      agent(options = {}) {
        // Each agent its own local socket: a "rebooted" agent may start before the last one let go of its socket.
        const socket = `unix:${join(runtimeDir, `mqtt-${++agentsStarted}.sock`)}`;
        const args = ['--json', 'run', ...stack.args, '--thing-name', THING, '--state-dir', stateDir, '--jobs-handler-dir', handlerDir, '--local-listen', socket,
          ...(options.jobs === false ? [] : ['--jobs']), ...(options.shadow ? ['--shadow'] : []), ...(options.args ?? [])];
        const env = { ...stack.env, RUNTIME_DIRECTORY: runtimeDir, ...options.env };
        if (!options.asServiceUser) return new RunningCli(args, env);
        const user = ensureSystemUser();
        mkdirSync(stateDir, { recursive: true });
        execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, stack.dir]);
        execFileSync('chown', ['-R', '0:0', handlerDir]);
        const [file, argv] = asUserArgv(TRUSTLINK, args, SERVICE_USER);
        return new RunningCli(argv, env, file);
      },
      jobsCli: () => trustlink(['--json', 'jobs', '--state-dir', stateDir], stack.env),
      async close() {
        await shadow.stop();
        await jobs.stop();
        await stack.close();
      },
    };
  } catch (error) {
    await stack.close();
    throw error;
  }
}
