/** trustlink rotate: a new key born in the token and its certificate, over the device's current identity. */
import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { TrustlinkError } from '../errors.js';
import { parseParameters } from '../fleet/fleet-api.js';
import { KEY_TYPES, type KeyType } from '../pkcs11/keygen.js';
import { describeRotation, rotate, ROTATION_STEPS, type RotationStep } from '../rotation/rotate.js';
import { openRotationProgress, ROTATION_VIAS, type RotationVia } from '../rotation/state.js';
import { createContext } from './context.js';
import { CONNECTING_EXITS, exitStatusHelp } from './exit-status.js';
import { parseChoice, parseInteger } from './parse.js';
import { addSettingFlags } from './setting-flags.js';
import { logSteps } from './step-log.js';

const FLAG_GROUPS = ['connection', 'rotation', 'state'] as const;

interface RotateFlags {
  via: RotationVia;
  jobId?: string;
  keyType: KeyType;
  certOut?: string;
  keepOld?: boolean;
  dryRun?: boolean;
  answerTimeout: number;
  stopAfter?: RotationStep;
}

export function rotateCommand(): Command {
  const command = new Command('rotate')
    .description('replace the device key and certificate: a new key inside the token, its certificate from AWS IoT over the current connection, proven, then switched to')
    .option('--via <backend>', `how the certificate is asked for: ${ROTATION_VIAS.join(', ')} (fleet: CreateCertificateFromCsr on the fleet-provisioning topics; rotator: AWS's certificate-rotator design)`, parseChoice(ROTATION_VIAS), 'fleet')
    .option('--job-id <id>', 'the AWS IoT job of the rotation (--via rotator)')
    .option('--key-type <type>', `type of the new key: ${KEY_TYPES.join(', ')}`, parseChoice(KEY_TYPES), 'ec-p256')
    .option('--cert-out <file>', 'write the new certificate to this file (default: the token when the old one is there, else a file beside the old one)')
    .option('--keep-old', 'keep the old key and certificate in the token')
    .option('--answer-timeout <seconds>', 'how long to wait for each AWS IoT answer', parseInteger(1, 600), 30)
    .option('--dry-run', 'show what would be done, and do nothing')
    .addOption(new Option('--stop-after <step>', 'test hook: die like a power cut after this step').choices(ROTATION_STEPS).hideHelp());
  addSettingFlags(command, FLAG_GROUPS);
  command.addHelpText('after', `
The old key stays untouched until the new identity has connected once; the
config (certFile, key) is switched atomically only then. A run cut short is
finished by running it again (progress: <state-dir>/rotation/rotation.json).
A new certificate the broker refuses is removed again, never switched to.
Restart the agent afterwards (systemctl restart trustlink); with
rotateBeforeDays set, the agent rotates on its own and restarts itself.
The device policy must allow the fleet-provisioning topics: see docs/rotation.md.

Examples:
  trustlink --config /etc/trustlink/config.json rotate --dry-run
  trustlink --config /etc/trustlink/config.json rotate --template FactoryTemplate --param SerialNumber=A123
  trustlink --config /etc/trustlink/config.json rotate --via rotator --job-id rotate-42`);
  command.addHelpText('after', exitStatusHelp('rotated: the config points at the new, proven identity', ['dataError', ...CONNECTING_EXITS]));
  return command.action(async (flags: RotateFlags, self: Command) => {
    if (flags.via === 'rotator' && flags.jobId === undefined) throw new TrustlinkError('USAGE', '--via rotator needs --job-id: the rotator backend checks the rotation job');
    const { loaded, log, output, env } = createContext(self, FLAG_GROUPS);
    const { config } = loaded;
    const plan = {
      config,
      configFile: loaded.file ?? DEFAULT_CONFIG_FILE,
      progress: openRotationProgress(config.stateDir),
      via: flags.via,
      jobId: flags.jobId,
      template: config.provisioningTemplate,
      parameters: parseParameters(config.provisioningParameters ?? []),
      keyType: flags.keyType,
      certOut: flags.certOut,
      retire: flags.keepOld ? 'keep' as const : 'remove' as const,
      answerTimeoutMs: flags.answerTimeout * 1000,
      env,
    };
    if (flags.dryRun) {
      const steps = describeRotation(plan);
      output.result(`dry run, nothing done:\n  ${steps.join('\n  ')}`, { event: 'rotate-plan', steps });
      return;
    }
    const result = await rotate(plan, { log, stepDone: logSteps(log, 'rotation step done', flags.stopAfter) });
    output.result(`rotated: key ${result.newKey}, certificate ${result.newCert} (ID ${result.certificateId}); old ${result.oldKey} ${result.retired === 'kept' ? 'kept' : 'removed'}; the config points at the new identity; deactivate the old certificate in AWS IoT: aws iot update-certificate --certificate-id ${result.oldCertificateId} --new-status INACTIVE`, { event: 'rotate', ...result });
  });
}
