/** trustlink hsm import-cert: stores the device certificate in the token beside its key. */
import { Command } from 'commander';
import { readFileBytes } from '../files/read.js';
import { requirePin } from '../pkcs11/secret.js';
import { openToken, requireModulePath } from '../pkcs11/token.js';
import { createContext } from './context.js';
import { parseLabel, parseTokenSelector, pinSourcesFor } from './hsm-options.js';
import { addSettingFlags } from './setting-flags.js';
import { exitStatusHelp, TOKEN_EXITS } from './exit-status.js';

interface ImportCertFlags {
  token: string;
  label: string;
  cert: string;
  replace?: boolean;
}

export function hsmImportCertCommand(): Command {
  const command = new Command('import-cert')
    .description('store a certificate in the token beside its key (same CKA_ID and label), for --cert pkcs11:...;type=cert')
    .requiredOption('--token <label|uri>', 'token that holds the key')
    .requiredOption('--label <key-label>', 'label of the key the certificate was issued for; the certificate gets the same label', parseLabel)
    .requiredOption('--cert <file>', 'the certificate, PEM or DER')
    .option('--replace', 'replace the certificate already stored for this key (a renewal)');
  addSettingFlags(command, ['token']);
  command.addHelpText('after', `
A certificate whose public key is not the key's is refused.

Example:
  trustlink hsm import-cert --token dev --label thing-1 --cert thing-1.pem \\
    --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file /etc/trustlink/pin
  trustlink publish --cert 'pkcs11:token=dev;object=thing-1;type=cert' --key 'pkcs11:token=dev;object=thing-1;type=private' ...`);
  command.addHelpText('after', exitStatusHelp('the certificate is stored in the token', TOKEN_EXITS));
  return command.action(async (flags: ImportCertFlags, self: Command) => {
    const { loaded, output, env } = createContext(self, ['token']);
    const { config } = loaded;
    // Read before the login, so a wrong path costs no PIN attempt.
    const der = readFileBytes(flags.cert, 'certificate file', 'pass --cert with the certificate your CA issued for the key (PEM or DER)');
    const uri = parseTokenSelector(flags.token);
    const modulePath = requireModulePath(config.pkcs11Module, uri);
    const pin = requirePin(pinSourcesFor(config, env, uri));
    // Loaded only here: the ASN.1 library is needed by no other command.
    const { importCertificate } = await import('../pkcs11/import-certificate.js');
    const opened = openToken({ modulePath, uri, pin, readWrite: true });
    try {
      const stored = importCertificate(opened, { keyLabel: flags.label, der, source: flags.cert, replace: flags.replace ?? false });
      output.result([
        `stored the certificate for "${stored.subject}" (expires ${stored.notAfter}) in token "${opened.token.label}" beside key "${stored.label}"${stored.replaced > 0 ? `, replacing ${stored.replaced}` : ''}`,
        `  cert URI: ${stored.uri}`,
      ].join('\n'), {
        event: 'certificate-imported',
        token: opened.token.label,
        label: stored.label,
        id: stored.id.toString('hex'),
        subject: stored.subject,
        notAfter: stored.notAfter,
        uri: stored.uri,
        replaced: stored.replaced,
      });
    } finally {
      opened.close();
    }
  });
}
