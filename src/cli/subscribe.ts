/**
 * trustlink subscribe: prints each payload on its own line, stays connected
 * through broker restarts (reconnect, re-subscribe), and exits after --count
 * messages or on SIGINT/SIGTERM.
 */
import { Command } from 'commander';
import { connect } from '../connection/connect.js';
import type { ReceivedMessage } from '../connection/mqtt.js';
import { createContext } from './context.js';
import { parseChoice, parseInteger, parseTopicFilter } from './parse.js';
import { addSettingFlags } from './setting-flags.js';
import { stopOnSignals } from './stop-signals.js';
import { CONNECTING_EXITS, exitStatusHelp } from './exit-status.js';

interface SubscribeFlags {
  topic: string;
  count?: number;
  qos: '0' | '1';
}

export function subscribeCommand(): Command {
  const command = new Command('subscribe')
    .alias('sub')
    .description('subscribe and print each message payload on its own line; reconnects until stopped')
    .requiredOption('--topic <filter>', 'topic filter, wildcards allowed as whole levels (+, # last)', parseTopicFilter)
    .option('--count <n>', 'exit after this many messages', parseInteger(1, Number.MAX_SAFE_INTEGER))
    .option('--qos <0|1>', 'QoS (AWS IoT supports 0 and 1)', parseChoice(['0', '1'] as const), '1');
  addSettingFlags(command, ['connection']);
  command.addHelpText('after', `
Payloads go to stdout, one per line; logs go to stderr. With --json each
message is {"topic","payload","qos"}. When the broker goes away the
subscriber reconnects with exponential backoff and jitter and subscribes again.

Example:
  trustlink --config /etc/trustlink/config.json subscribe --topic 'cmd/thing-1/#' --count 1`);
  command.addHelpText('after', exitStatusHelp('stopped by --count, SIGINT or SIGTERM', CONNECTING_EXITS));
  return command.action(async (flags: SubscribeFlags, self: Command) => {
    const { loaded, log, output, connectionInputs } = createContext(self, ['connection']);
    const connection = await connect(loaded.config, log, { retry: true, ...connectionInputs });
    const signals = stopOnSignals(log);
    let received = 0;
    connection.session.on('message', (message: ReceivedMessage) => {
      const payload = message.payload.toString('utf8');
      output.result(payload, { topic: message.topic, payload, qos: message.qos });
      received++;
      if (flags.count !== undefined && received >= flags.count) signals.controller.abort();
    });
    try {
      await connection.session.subscribe(flags.topic, Number(flags.qos) as 0 | 1);
      await signals.stopped;
    } finally {
      signals.release();
      await connection.close();
    }
  });
}
