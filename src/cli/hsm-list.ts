/** trustlink hsm list: slots, tokens, PIN state, keys and certificates, with URIs to paste. */
import { Command } from 'commander';
import { findPin } from '../pkcs11/secret.js';
import { soleInitializedToken, takeInventory } from '../pkcs11/inventory.js';
import { openModule, requireModulePath } from '../pkcs11/token.js';
import { isPkcs11Uri, parsePkcs11Uri } from '../pkcs11/uri.js';
import { createContext } from './context.js';
import { renderInventory } from './hsm-list-render.js';
import { parseTokenSelector, pinSourcesFor } from './hsm-options.js';
import { addSettingFlags } from './setting-flags.js';
import { exitStatusHelp, TOKEN_EXITS } from './exit-status.js';

interface ListFlags {
  token?: string;
}

export function hsmListCommand(): Command {
  const command = new Command('list')
    .alias('ls')
    .description('list slots and tokens (PIN state included) and the keys and certificates in them, each with a URI to paste')
    .option('--token <label|uri>', 'token to log in to, so that its private keys are listed too (default: the configured key\'s token, else the only token)');
  addSettingFlags(command, ['token']);
  command.addHelpText('after', `
Without a PIN only public objects (public keys, certificates) are listed.
With a PIN (--pin-file, TRUSTLINK_PIN or a systemd credential), trustlink logs
in once to the token named by --token (or the configured key's, or the only
one) and lists its private keys too, with CKA_SENSITIVE, CKA_EXTRACTABLE and
CKA_NEVER_EXTRACTABLE. The PIN flags are read before the login.

Examples:
  trustlink hsm list --pkcs11-module /usr/lib/softhsm/libsofthsm2.so
  TRUSTLINK_PIN_FILE=/etc/trustlink/pin trustlink hsm list --token dev --pkcs11-module /usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so
  trustlink --json hsm list --pkcs11-module /usr/lib/softhsm/libsofthsm2.so | jq '.slots[].token.objects.keys'`);
  command.addHelpText('after', exitStatusHelp('the tokens were listed', TOKEN_EXITS));
  return command.action((flags: ListFlags, self: Command) => {
    const { loaded, output, env } = createContext(self, ['token']);
    const { config } = loaded;
    const configuredKey = config.key !== undefined && isPkcs11Uri(config.key) ? parsePkcs11Uri(config.key) : undefined;
    const selector = flags.token !== undefined ? parseTokenSelector(flags.token) : configuredKey;
    const module = openModule(requireModulePath(config.pkcs11Module, selector));
    const pin = findPin(pinSourcesFor(config, env, selector));
    const loginUri = pin ? selector ?? soleInitializedToken(module) : undefined;
    const inventory = takeInventory(module, { login: pin && loginUri ? { uri: loginUri, pin } : undefined });
    output.result(renderInventory(inventory), { event: 'inventory', ...inventory });
  });
}
