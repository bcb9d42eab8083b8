/** trustlink hsm: token management for firmware and factory engineers. */
import { Command } from 'commander';
import { hsmCsrCommand } from './hsm-csr.js';
import { hsmImportCertCommand } from './hsm-import-cert.js';
import { hsmKeygenCommand } from './hsm-keygen.js';
import { hsmListCommand } from './hsm-list.js';

export function hsmCommand(): Command {
  return new Command('hsm')
    .description('manage keys and certificates in a TPM or HSM token: list, keygen, csr, import-cert')
    .addCommand(hsmListCommand())
    .addCommand(hsmKeygenCommand())
    .addCommand(hsmCsrCommand())
    .addCommand(hsmImportCertCommand())
    .addHelpText('after', `
Provisioning a device without its key ever leaving the token:
  trustlink hsm keygen --token dev --label thing-1
  trustlink hsm csr --key 'pkcs11:token=dev;object=thing-1;type=private' --subject CN=thing-1 --out thing-1.csr
  (your CA signs thing-1.csr into thing-1.pem)
  trustlink hsm import-cert --token dev --label thing-1 --cert thing-1.pem
  trustlink hsm list --token dev
Each command also takes --pkcs11-module and --pin-file (or the config file / TRUSTLINK_* environment).`);
}
