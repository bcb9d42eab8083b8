/**
 * The trustlink command line: parses, calls, prints. Every failure is
 * rendered once here and mapped to a documented exit status.
 */
import { Command, CommanderError } from 'commander';
import { connectCommand } from './connect.js';
import { addGlobalOptions, type GlobalOptions } from './context.js';
import { credsCommand } from './creds.js';
import { hsmCommand } from './hsm.js';
import { jobsCommand } from './jobs.js';
import { provisionCommand } from './provision.js';
import { rotateCommand } from './rotate.js';
import { publishCommand } from './publish.js';
import { renderError } from './render-error.js';
import { runCommand } from './run.js';
import { selftestCommand } from './selftest.js';
import { statusCommand } from './status.js';
import { EXIT_MEANINGS } from '../errors.js';
import { SELFTEST_EXIT } from '../selftest/selftest.js';
import { subscribeCommand } from './subscribe.js';

declare const TRUSTLINK_VERSION: string | undefined;
export const VERSION = typeof TRUSTLINK_VERSION === 'string' ? TRUSTLINK_VERSION : '0.0.0-dev';

function buildProgram(): Command {
  const program = new Command('trustlink')
    .description('Connect this device to AWS IoT with a key that never leaves its TPM or HSM (PKCS#11).')
    .version(VERSION, '-V, --version');
  addGlobalOptions(program);
  program
    .addCommand(publishCommand())
    .addCommand(subscribeCommand())
    .addCommand(connectCommand())
    .addCommand(hsmCommand())
    .addCommand(credsCommand())
    .addCommand(selftestCommand(VERSION))
    .addCommand(runCommand(VERSION))
    .addCommand(statusCommand())
    .addCommand(jobsCommand())
    .addCommand(provisionCommand())
    .addCommand(rotateCommand());
  program.addHelpText('after', `
Every setting can also come from the JSON config file (camelCase keys) or the
environment (TRUSTLINK_ + UPPER_SNAKE key). Flags win over the environment,
which wins over the file. The token PIN never goes on the command line.

Exit status: 0 ok; ${Object.entries(EXIT_MEANINGS).map(([status, meaning]) => `${status} ${meaning}`).join('; ')}.
trustlink selftest has its own: 0 pass, 1 a check failed, 2 usage or config.`);
  // Usage errors and --help throw instead of exiting, so they meet the same renderer.
  // commander's own error line is dropped: renderError prints the one line users see.
  const withSubcommands = (command: Command): Command[] => [command, ...command.commands.flatMap(withSubcommands)];
  for (const command of withSubcommands(program)) command.exitOverride().configureOutput({ outputError: () => undefined });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let commandName: string | undefined;
  program.hook('preSubcommand', (_program, subcommand) => {
    commandName = subcommand.name();
  });
  try {
    await program.parseAsync(argv);
    // A command whose verdict is not an error (selftest's "a check failed") sets process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0)) {
      return 0;
    }
    const globals = program.opts<GlobalOptions>();
    const status = renderError(error, { json: globals.json ?? false, debug: globals.debug ?? false });
    // The self-test's callers (systemd units, update hooks) were promised 2 for usage and config errors.
    return commandName === 'selftest' ? SELFTEST_EXIT.usage : status;
  }
}
