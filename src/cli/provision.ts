/** trustlink provision: first-boot identity by AWS IoT fleet provisioning, the key born in the token. */
import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { requireSetting } from '../config/require.js';
import { TrustlinkError } from '../errors.js';
import { KEY_TYPES, type KeyType } from '../pkcs11/keygen.js';
import { isPkcs11Uri, parsePkcs11Uri } from '../pkcs11/uri.js';
import { CREATE_FROM_CSR_TOPIC, parseParameters } from '../fleet/fleet-api.js';
import { provision, STEPS, type Step } from '../provision/provision.js';
import { openState } from '../provision/state.js';
import { createContext } from './context.js';
import { CONNECTING_EXITS, exitStatusHelp } from './exit-status.js';
import { parseChoice, parseInteger } from './parse.js';
import { addSettingFlags } from './setting-flags.js';
import { pinSourcesFor } from './hsm-options.js';
import { logSteps } from './step-log.js';

const FLAG_GROUPS = ['connection', 'provision', 'state'] as const;

interface ProvisionFlags {
  keyType: KeyType;
  certOut?: string;
  certToToken?: boolean;
  dryRun?: boolean;
  answerTimeout: number;
  stopAfter?: Step;
}

export function provisionCommand(): Command {
  const command = new Command('provision')
    .description('first boot: make the device key inside the token, get its certificate and thing from AWS IoT fleet provisioning, and update the config')
    .option('--key-type <type>', `type of the device key when it is generated: ${KEY_TYPES.join(', ')}`, parseChoice(KEY_TYPES), 'ec-p256')
    .option('--cert-out <file>', 'write the device certificate to this file (atomically) instead of the token')
    .option('--cert-to-token', 'store the device certificate in the token beside its key (the default)')
    .option('--answer-timeout <seconds>', 'how long to wait for each AWS IoT answer', parseInteger(1, 600), 30)
    .option('--dry-run', 'show what would be done, and do nothing')
    .addOption(new Option('--stop-after <step>', 'test hook: die like a power cut after this step').choices(STEPS).hideHelp());
  addSettingFlags(command, FLAG_GROUPS);
  command.addHelpText('after', `
--key names the device key (object= is its label): it is generated inside the
token when the token does not hold it yet, and reused when it does. The claim
certificate may publish only to the fleet-provisioning topics (see docs/provisioning.md).
A run cut short (power cut, lost network) is finished by running it again.
Once done, <state-dir>/provisioned exists and a rerun does nothing.

Example:
  trustlink provision --config /etc/trustlink/config.json \\
    --claim-cert /etc/trustlink/claim.pem --claim-key /etc/trustlink/claim.key \\
    --template FactoryTemplate --param SerialNumber=$(cat /sys/firmware/devicetree/base/serial-number) \\
    --key 'pkcs11:token=dev;object=devkey' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file /etc/trustlink/pin`);
  command.addHelpText('after', exitStatusHelp('provisioned (or already provisioned)', ['dataError', ...CONNECTING_EXITS]));
  return command.action(async (flags: ProvisionFlags, self: Command) => {
    if (flags.certOut !== undefined && flags.certToToken) throw new TrustlinkError('USAGE', '--cert-out and --cert-to-token exclude each other');
    const { loaded, log, output, env } = createContext(self, FLAG_GROUPS);
    const { config } = loaded;
    const keyText = requireSetting(config, 'key', { when: 'to provision' });
    if (!isPkcs11Uri(keyText)) throw new TrustlinkError('USAGE', 'provision makes the device key inside a token: --key must be a PKCS#11 URI such as pkcs11:token=dev;object=devkey');
    const deviceKey = parsePkcs11Uri(keyText);
    const state = openState(config.stateDir);
    const configFile = loaded.file ?? DEFAULT_CONFIG_FILE;
    const plan = {
      config,
      claimCert: requireSetting(config, 'provisioningClaimCert', { when: 'to provision' }),
      claimKey: requireSetting(config, 'provisioningClaimKey', { when: 'to provision' }),
      template: requireSetting(config, 'provisioningTemplate', { when: 'to provision' }),
      parameters: parseParameters(config.provisioningParameters ?? []),
      deviceKey,
      keyType: flags.keyType,
      certOut: flags.certOut,
      configFile,
      state,
      answerTimeoutMs: flags.answerTimeout * 1000,
      pinSources: pinSourcesFor(config, env, deviceKey),
    };
    if (state.isProvisioned()) {
      output.result(`already provisioned (${state.dir}/provisioned exists); nothing to do`, { event: 'provision', alreadyProvisioned: true, stateDir: state.dir });
      return;
    }
    if (flags.dryRun) {
      const resumed = state.readRegistered();
      const lines = [
        `key: find "${deviceKey.object ?? '?'}" in token "${deviceKey.token ?? '?'}", or generate it (${flags.keyType})`,
        resumed ? `register: already done (thing "${resumed.thingName}"), resuming from the state file` : `register: connect to ${config.endpoint} as ${plan.claimCert}, CSR to ${CREATE_FROM_CSR_TOPIC}, then template "${plan.template}" with ${JSON.stringify(plan.parameters)}`,
        `store: the certificate ${flags.certOut ? `in ${flags.certOut}` : 'in the token beside the key'}`,
        `config: set certFile, key, thingName, clientId in ${configFile}`,
        `verify: connect once with the new identity, then mark ${state.dir}/provisioned`,
      ];
      output.result(`dry run, nothing done:\n  ${lines.join('\n  ')}`, { event: 'provision-plan', steps: lines });
      return;
    }
    const result = await provision(plan, { log, stepDone: logSteps(log, 'provisioning step done', flags.stopAfter) });
    output.result(`provisioned as thing "${result.thingName}" (client ID ${result.clientId}); certificate ${result.certRef}; key ${result.keyUri}${result.keyGenerated ? ' (generated)' : ' (reused)'}; verified by a connection`, { event: 'provision', ...result });
  });
}
