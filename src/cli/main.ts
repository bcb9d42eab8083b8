/**
 * The trustlink command line: parses, calls, prints. Every failure is
 * rendered once here and mapped to a documented exit status.
 */
import { Command, CommanderError } from 'commander';
import { addGlobalOptions, type GlobalOptions } from './context.js';
import { renderError } from './render-error.js';
import { EXIT_MEANINGS } from '../errors.js';
import { SELFTEST_EXIT } from '../selftest/exit-status.js';

declare const TRUSTLINK_VERSION: string | undefined;
export const VERSION = typeof TRUSTLINK_VERSION === 'string' ? TRUSTLINK_VERSION : '0.0.0-dev';

/**
 * Every command, by the names it answers to, and its module: imported only
 * when that command runs, so a command parses (and Node compiles) nothing of
 * the others. A test holds the names to the commands' own.
 */
export const COMMANDS: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Command> }> = [
  { names: ['publish', 'pub'], load: async () => (await import('./publish.js')).publishCommand() },
  { names: ['subscribe', 'sub'], load: async () => (await import('./subscribe.js')).subscribeCommand() },
  { names: ['connect'], load: async () => (await import('./connect.js')).connectCommand() },
  { names: ['hsm'], load: async () => (await import('./hsm.js')).hsmCommand() },
  { names: ['creds'], load: async () => (await import('./creds.js')).credsCommand() },
  { names: ['selftest'], load: async () => (await import('./selftest.js')).selftestCommand(VERSION) },
  { names: ['run'], load: async () => (await import('./run.js')).runCommand(VERSION) },
  { names: ['status'], load: async () => (await import('./status.js')).statusCommand() },
  { names: ['jobs'], load: async () => (await import('./jobs.js')).jobsCommand() },
  { names: ['provision'], load: async () => (await import('./provision.js')).provisionCommand() },
  { names: ['rotate'], load: async () => (await import('./rotate.js')).rotateCommand() },
];

/** The command argv names, past the global options; undefined for none, a bad global option, or `help`. */
function invokedCommand(argv: string[]): string | undefined {
  try {
    const scanner = addGlobalOptions(new Command()).exitOverride().configureOutput({ outputError: () => undefined });
    return scanner.parseOptions(argv.slice(2)).operands[0];
  } catch {
    return undefined;
  }
}

async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('trustlink')
    .description('Connect this device to AWS IoT with a key that never leaves its TPM or HSM (PKCS#11).')
    .version(VERSION, '-V, --version');
  addGlobalOptions(program);
  // The full list for help, `help <command>` and a mistyped name (commander suggests the nearest).
  const name = invokedCommand(argv);
  const invoked = COMMANDS.filter((command) => name !== undefined && command.names.includes(name));
  for (const command of await Promise.all((invoked.length > 0 ? invoked : COMMANDS).map((entry) => entry.load()))) program.addCommand(command);
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
  const program = await buildProgram(argv);
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
