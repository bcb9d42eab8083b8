/**
 * Runs commands as the unprivileged system user the image's units use (`User=trustlink`), so a
 * test sees the EACCES a device would. The files keep the owners and modes the test gave them:
 * nothing here chowns or chmods on the caller's behalf.
 */
import { execFileSync } from 'node:child_process';
import { run, type RunResult } from './run.js';

export const SERVICE_USER = 'trustlink';

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
}

function lookup(name: string): SystemUser | undefined {
  try {
    const [, , uid, gid] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/**
 * The system user and its group of the same name, made as the recipe's `useradd` class would
 * (`--system`, no home, no login shell) when missing, in the supplementary `groups` (e.g. a
 * local client in the `trustlink` group). Test files run in parallel, so a concurrent useradd
 * that wins the race is fine: the user is looked up again after it.
 */
export function ensureSystemUser(name = SERVICE_USER, groups: string[] = []): SystemUser {
  const existing = lookup(name);
  if (existing) return existing;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin',
      ...(groups.length > 0 ? ['--groups', groups.join(',')] : []), name], { stdio: 'pipe' });
  } catch (error) {
    if (!lookup(name)) throw error;
  }
  const made = lookup(name);
  if (!made) throw new Error(`useradd ${name} succeeded but getent cannot find it`);
  return made;
}

/** The argv that runs `file args` as `user`, with its own group and supplementary groups. */
export function asUserArgv(file: string, args: string[], user = SERVICE_USER): [string, string[]] {
  return ['setpriv', ['--reuid', user, '--regid', user, '--init-groups', '--', file, ...args]];
}

/** Runs `file args` as `user` (created when missing), with `env` as given (default: this process's). */
export function runAsUser(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; user?: string } = {}): Promise<RunResult> {
  const user = ensureSystemUser(options.user ?? SERVICE_USER);
  const [setpriv, argv] = asUserArgv(file, args, user.name);
  return run(setpriv, argv, { env: options.env, timeoutMs: options.timeoutMs, cwd: options.cwd });
}
