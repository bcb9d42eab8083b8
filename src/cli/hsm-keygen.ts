/** trustlink hsm keygen: a key pair generated inside the token, never overwriting one. */
import { createPublicKey } from 'node:crypto';
import { Command } from 'commander';
import { generateKeyPair, KEY_TYPES, type KeyType } from '../pkcs11/keygen.js';
import { requirePin } from '../pkcs11/secret.js';
import { openToken, requireModulePath } from '../pkcs11/token.js';
import { createContext } from './context.js';
import { parseChoice } from './parse.js';
import { addSettingFlags } from './setting-flags.js';
import { parseKeyId, parseLabel, parseTokenSelector, pinSourcesFor } from './hsm-options.js';
import { withProgress } from './progress.js';
import { exitStatusHelp, TOKEN_EXITS } from './exit-status.js';

interface KeygenFlags {
  token: string;
  label: string;
  type: KeyType;
  id?: Buffer;
}

export function hsmKeygenCommand(): Command {
  const command = new Command('keygen')
    .description('generate a key pair inside a token; the private key is sensitive and can never be exported')
    .requiredOption('--token <label|uri>', 'token to generate the key in')
    .requiredOption('--label <label>', 'label of the new key pair (CKA_LABEL); refused if the token already holds it', parseLabel)
    .option('--type <type>', `key type: ${KEY_TYPES.join(', ')}`, parseChoice(KEY_TYPES), 'ec-p256')
    .option('--id <hex>', 'CKA_ID of the key pair in hex (default: 8 random bytes)', parseKeyId);
  addSettingFlags(command, ['token']);
  command.addHelpText('after', `
The private key gets CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE and not
CKA_EXTRACTABLE, and is checked to have them afterwards. RSA on a TPM takes
seconds; a terminal shows progress meanwhile.

Examples:
  trustlink hsm keygen --token dev --label thing-1 --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file /etc/trustlink/pin
  trustlink hsm keygen --token dev --label thing-1 --type rsa-2048 --pkcs11-module /usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so

Next: trustlink hsm csr --key URI --subject "CN=thing-1" --out thing-1.csr`);
  command.addHelpText('after', exitStatusHelp('the key pair was made in the token', TOKEN_EXITS));
  return command.action(async (flags: KeygenFlags, self: Command) => {
    const { loaded, output, env } = createContext(self, ['token']);
    const { config } = loaded;
    const uri = parseTokenSelector(flags.token);
    const modulePath = requireModulePath(config.pkcs11Module, uri);
    const pin = requirePin(pinSourcesFor(config, env, uri));
    const opened = openToken({ modulePath, uri, pin, readWrite: true });
    try {
      const key = await withProgress(`generating ${flags.type} key pair "${flags.label}" in token "${opened.token.label}"`,
        () => generateKeyPair(opened, { label: flags.label, type: flags.type, id: flags.id }));
      const publicKeyPem = createPublicKey({ key: key.publicKeySpki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }) as string;
      output.result([
        `generated ${key.type} key pair "${key.label}" (id ${key.id.toString('hex')}) in token "${opened.token.label}"`,
        `  private key: sensitive, not extractable${key.neverExtractable ? ', never extractable' : ''}`,
        `  key URI: ${key.uri}`,
      ].join('\n'), {
        event: 'keygen',
        token: opened.token.label,
        label: key.label,
        id: key.id.toString('hex'),
        type: key.type,
        uri: key.uri,
        sensitive: key.sensitive,
        extractable: key.extractable,
        neverExtractable: key.neverExtractable,
        publicKeyPem,
      });
    } finally {
      opened.close();
    }
  });
}
