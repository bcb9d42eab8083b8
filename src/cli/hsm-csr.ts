/** trustlink hsm csr: a PKCS#10 request signed inside the token. */
import { Command } from 'commander';
import { TrustlinkError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { requirePin } from '../pkcs11/secret.js';
import { openTokenKey, requireModulePath } from '../pkcs11/token.js';
import { isPkcs11Uri, parsePkcs11Uri } from '../pkcs11/uri.js';
import { createContext } from './context.js';
import { pinSourcesFor } from './hsm-options.js';
import { addSettingFlags } from './setting-flags.js';
import { exitStatusHelp, TOKEN_EXITS } from './exit-status.js';

interface CsrFlags {
  key?: string;
  subject: string;
  out: string;
}

export function hsmCsrCommand(): Command {
  const command = new Command('csr')
    .description('make a PKCS#10 certificate signing request, signed inside the token by the device key')
    .option('--key <uri>', 'the key, as a PKCS#11 URI (default: the configured key)')
    .requiredOption('--subject <dn>', 'subject name, first attribute first, e.g. "CN=thing-1,O=Example Corp"')
    .requiredOption('--out <file>', 'where to write the CSR (PEM); written atomically');
  addSettingFlags(command, ['token']);
  command.addHelpText('after', `
Example:
  trustlink hsm csr --key 'pkcs11:token=dev;object=thing-1;type=private' --subject 'CN=thing-1' \\
    --out thing-1.csr --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file /etc/trustlink/pin
  openssl req -in thing-1.csr -noout -verify -subject

Have your CA (or AWS IoT: aws iot create-certificate-from-csr) sign it, then
store the certificate beside the key: trustlink hsm import-cert.`);
  command.addHelpText('after', exitStatusHelp('the CSR was written', TOKEN_EXITS));
  return command.action(async (flags: CsrFlags, self: Command) => {
    const { loaded, output, env } = createContext(self, ['token'], { extra: { key: flags.key } });
    const { config } = loaded;
    if (config.key === undefined || !isPkcs11Uri(config.key)) {
      throw new TrustlinkError('USAGE', 'hsm csr needs a key in a token: --key pkcs11:token=...;object=... (or "key" in the config)', {
        hint: 'trustlink hsm list shows the keys and their URIs',
      });
    }
    const uri = parsePkcs11Uri(config.key);
    // Loaded only here: the X.509 library is large and no other command needs it.
    const { createCsr, parseSubject } = await import('../pkcs11/csr.js');
    const subject = parseSubject(flags.subject);
    const key = openTokenKey({ modulePath: requireModulePath(config.pkcs11Module, uri), uri, pin: requirePin(pinSourcesFor(config, env, uri)) });
    try {
      const pem = await createCsr(key, subject);
      writeFileAtomic(flags.out, pem, 0o644);
      output.result(`wrote a CSR for "${subject.toString()}" to ${flags.out}, signed in token "${key.token.label}" by key "${key.keyLabel ?? '?'}"`, {
        event: 'csr',
        out: flags.out,
        subject: subject.toString(),
        token: key.token.label,
        key: key.keyLabel,
      });
    } finally {
      key.close();
    }
  });
}
