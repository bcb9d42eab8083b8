/**
 * trustlink selftest: says what works and what does not, writes the report,
 * and hands the verdict on. Its exit status is its own (0/1/2, see --help),
 * not the sysexits codes of the other commands.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { isTrustlinkError } from '../errors.js';
import { DEFAULT_REPORT_FILE, defaultReportFile, formatReport, writeReport } from '../selftest/report.js';
import { runHook } from '../selftest/hooks.js';
import { SELFTEST_EXIT } from '../selftest/exit-status.js';
import { runSelftest } from '../selftest/selftest.js';
import { addSettingFlags, settingsFromFlags } from './setting-flags.js';
import { createCommandLogger, type GlobalOptions } from './context.js';
import { createOutput } from './output.js';

declare const TRUSTLINK_BUILD_TIME: string | undefined;
const BUILD_TIME = typeof TRUSTLINK_BUILD_TIME === 'string' ? new Date(TRUSTLINK_BUILD_TIME) : undefined;

interface SelftestFlags {
  report?: string;
  network: boolean;
  onPass?: string;
  onFail?: string;
  now?: Date;
}

function parseInstant(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(date.getTime())) throw new InvalidArgumentError('not an ISO 8601 date-time.');
  return date;
}

export function selftestCommand(version: string): Command {
  const command = new Command('selftest')
    .description('check config, clock, token, key, certificate and broker; print and save a report with the verdict')
    .option('--report <file>', `where to write the JSON report (default: $RUNTIME_DIRECTORY/selftest.json under systemd, else ${DEFAULT_REPORT_FILE})`)
    .option('--no-network', 'skip the checks that need the network (DNS, TCP, TLS, MQTT, round trip)')
    .option('--on-pass <command>', 'shell command to run when no check failed (e.g. "rauc status mark-good")')
    .option('--on-fail <command>', 'shell command to run when a check failed')
    // Test hook: judge the clock and certificates as if it were this time.
    .addOption(new Option('--now <iso8601>').argParser(parseInstant).hideHelp());
  addSettingFlags(command, ['connection']);
  command.addHelpText('after', `
Checks, in order (a check whose prerequisite failed is skipped, with the reason):
  config, clock, pkcs11-module, token, login, key, sign, certificate, ca,
  dns, tcp, tls, mqtt, pubsub (when selftestTopic is set).

The hooks run with /bin/sh -c; TRUSTLINK_SELFTEST_STATUS holds pass, warn or
fail and TRUSTLINK_SELFTEST_REPORT the report's path. A hook that fails makes
the self-test exit 1.

Examples:
  trustlink selftest
  trustlink selftest --no-network --json
  trustlink selftest --on-pass 'rauc status mark-good' --on-fail 'rauc status mark-bad'

Exit status (selftest only): 0 every check passed (warnings allowed),
1 a check failed, 2 usage or configuration error.`);
  return command.action(async (flags: SelftestFlags, self: Command) => {
    const globals = self.optsWithGlobals<GlobalOptions>();
    const env = process.env;
    const json = globals.json ?? false;
    // Only problems on stderr by default: the table is the self-test's output.
    const log = createCommandLogger(globals.debug ? 'debug' : (globals.logLevel ?? 'warn'), json, env);
    const { report, exitCode } = await runSelftest({
      version,
      sources: { file: globals.config, env, flags: { ...settingsFromFlags(self, ['connection']), logLevel: globals.logLevel } },
      env,
      log,
      now: flags.now ?? new Date(),
      buildTime: BUILD_TIME,
      network: flags.network,
    });
    let status: number = exitCode;
    const reportFile = flags.report ?? defaultReportFile(env);
    let written: string | undefined = reportFile;
    try {
      writeReport(reportFile, report);
    } catch (error) {
      if (!isTrustlinkError(error)) throw error;
      written = undefined;
      log.error(error.message, { hint: error.hint });
      // A report the caller asked for by name is part of the result; the default one is best effort.
      if (flags.report !== undefined) status = SELFTEST_EXIT.usage;
    }
    createOutput(json).result(formatReport(report), { ...report });
    const hook = report.status === 'fail' ? flags.onFail : flags.onPass;
    if (hook !== undefined) {
      const exitCode = await runHook(hook, report.status, written, log, env);
      if (exitCode !== 0 && status === SELFTEST_EXIT.ok) status = SELFTEST_EXIT.failed;
      // The agent's `update` job reads whether the slot was marked good from the report.
      if (written !== undefined) writeReport(written, { ...report, hook: { verdict: report.status, exitCode } });
    }
    process.exitCode = status;
  });
}
