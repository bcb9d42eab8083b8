/** trustlink publish: sends N messages and exits 0 only when all QoS 1 ones were acknowledged. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { connect } from '../connection/connect.js';
import { TrustlinkError } from '../errors.js';
import { createContext } from './context.js';
import { parseChoice, parseInteger, parseTopicName } from './parse.js';
import { addSettingFlags } from './setting-flags.js';
import { CONNECTING_EXITS, exitStatusHelp } from './exit-status.js';

interface PublishFlags {
  topic: string;
  message: string;
  count: number;
  qos: '0' | '1';
  interval: number;
}

/** "{n}" in the message becomes the message's number (1..N), so receivers can spot gaps. */
export function messageText(template: string, sequence: number): string {
  return template.replaceAll('{n}', String(sequence));
}

export function publishCommand(): Command {
  const command = new Command('publish')
    .alias('pub')
    .description('publish messages (auth: mTLS with the device key, SigV4 websocket or custom authorizer), then disconnect')
    .requiredOption('--topic <topic>', 'topic to publish to (no wildcards; at most 256 bytes and 8 levels)', parseTopicName)
    .requiredOption('--message <text>', 'message payload; "{n}" is replaced by the message number')
    .option('--count <n>', 'number of messages', parseInteger(1, 1_000_000), 1)
    .option('--qos <0|1>', 'QoS (AWS IoT supports 0 and 1)', parseChoice(['0', '1'] as const), '1')
    .option('--interval <ms>', 'pause between messages', parseInteger(0, 3_600_000), 0);
  addSettingFlags(command, ['connection']);
  command.addHelpText('after', `
Examples:
  # SoftHSM key, PIN from a file, one QoS 1 message
  trustlink publish --endpoint abc123-ats.iot.eu-west-1.amazonaws.com --ca-file AmazonRootCA1.pem \\
    --cert device.pem --key 'pkcs11:token=dev;object=devkey' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
    --pin-file /etc/trustlink/pin --client-id thing-1 --topic dt/thing-1/hello --message hi

  # 100 numbered messages, one every 50 ms, settings from the config file
  trustlink --config /etc/trustlink/config.json publish --topic dt/thing-1/seq --message 'msg {n}' --count 100 --interval 50`);
  command.addHelpText('after', exitStatusHelp('every message was sent (QoS 1: acknowledged by the broker)', CONNECTING_EXITS));
  return command.action(async (flags: PublishFlags, self: Command) => {
    const { loaded, log, output, connectionInputs } = createContext(self, ['connection']);
    const qos = Number(flags.qos) as 0 | 1;
    const connection = await connect(loaded.config, log, { retry: false, ...connectionInputs, singlePublish: flags.count === 1 });
    try {
      const started = Date.now();
      // QoS 1 publishes are pipelined: aws-crt keeps them in flight and each promise settles on its PUBACK.
      const pending: Array<Promise<void>> = [];
      for (let sequence = 1; sequence <= flags.count; sequence++) {
        pending.push(connection.session.publish(flags.topic, Buffer.from(messageText(flags.message, sequence)), qos));
        if (flags.interval > 0 && sequence < flags.count) await sleep(flags.interval);
      }
      const results = await Promise.allSettled(pending);
      const failed = results.filter((result) => result.status === 'rejected');
      if (failed.length > 0) {
        const first = (failed[0] as PromiseRejectedResult).reason;
        throw first instanceof TrustlinkError && failed.length === 1
          ? first
          : new TrustlinkError('PUBLISH_FAILED', `${failed.length} of ${flags.count} messages were not acknowledged; first: ${(first as Error).message}`, { cause: first });
      }
      const elapsedMs = Date.now() - started;
      output.result(
        `published ${flags.count} message${flags.count === 1 ? '' : 's'} to ${flags.topic} (QoS ${qos}${qos === 1 ? ', all acknowledged' : ''})`,
        { event: 'published', topic: flags.topic, count: flags.count, qos, elapsedMs },
      );
    } finally {
      await connection.close();
    }
  });
}
