/** trustlink hsm list: slots, tokens, PIN state, keys and certificates, with URIs to paste. */
import { Command } from 'commander';
import { Pkcs11Module } from '../pkcs11/native.js';
import { findPin } from '../pkcs11/secret.js';
import { describePinFlags, requireModulePath } from '../pkcs11/token.js';
import { soleInitializedToken, takeInventory, type Inventory, type KeyEntry, type TokenEntry } from '../pkcs11/inventory.js';
import { isPkcs11Uri, parsePkcs11Uri } from '../pkcs11/uri.js';
import { createContext } from './context.js';
import { addTokenOptions, parseTokenSelector, pinSourcesFor, tokenFlagsToConfig, type TokenFlags } from './hsm-options.js';

interface ListFlags extends TokenFlags {
  token?: string;
}

const yesNo = (value: boolean | undefined): string => (value === undefined ? '?' : value ? 'yes' : 'no');

/** Left-aligned columns, two spaces apart. */
function table(rows: string[][], indent: string): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) => `${indent}${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}`);
}

function describeKey(key: KeyEntry): string {
  return [key.keyType, key.curve, key.bits !== undefined ? `${key.bits} bits` : undefined].filter(Boolean).join(' ');
}

function renderObjects(token: TokenEntry, lines: string[]): void {
  if (token.objectsError !== undefined) {
    lines.push(`    objects: cannot be listed (${token.objectsError})`);
    return;
  }
  const objects = token.objects;
  if (!objects) return;
  lines.push(`    keys${objects.loggedIn ? '' : ' (public only: give the PIN and --token to see private keys)'}:`);
  if (objects.keys.length === 0) lines.push('      none');
  else {
    const rows = [['CLASS', 'LABEL', 'ID', 'TYPE', 'SENSITIVE', 'EXTRACTABLE', 'NEVER-EXTRACTABLE']];
    for (const key of objects.keys) {
      const isPrivate = key.class === 'private';
      rows.push([key.class, key.label, key.id || '-', describeKey(key),
        isPrivate ? yesNo(key.sensitive) : '-', isPrivate ? yesNo(key.extractable) : '-', isPrivate ? yesNo(key.neverExtractable) : '-']);
    }
    const [header, ...body] = table(rows, '      ');
    lines.push(header as string);
    body.forEach((line, index) => lines.push(line, `        ${objects.keys[index]?.uri}`));
  }
  lines.push('    certificates:');
  if (objects.certificates.length === 0) lines.push('      none');
  for (const certificate of objects.certificates) {
    lines.push(`      "${certificate.label}" id ${certificate.id || '-'}: ${certificate.subject}, expires ${certificate.notAfter || '?'}`);
    lines.push(`        ${certificate.uri}`);
  }
}

export function renderInventory(inventory: Inventory): string {
  const { module } = inventory;
  const lines = [`module ${module.path}: ${module.manufacturer} ${module.description} ${module.version}`];
  if (inventory.slots.length === 0) lines.push('no slots');
  for (const slot of inventory.slots) {
    lines.push(`slot ${slot.slotId}${slot.description ? ` "${slot.description}"` : ''}${slot.token ? '' : ': no token'}`);
    const token = slot.token;
    if (!token) continue;
    if (!token.initialized) {
      lines.push(`  token not initialized (serial ${token.serial || '-'}, model ${token.model || '-'})`);
      continue;
    }
    lines.push(`  token "${token.label}": serial ${token.serial}, manufacturer ${token.manufacturer}, model ${token.model}`);
    lines.push(`    ${token.loginRequired ? 'login required' : 'no login required'}; ${describePinFlags(token.pin)}`);
    if (token.pinNote) lines.push(`    note: ${token.pinNote}`);
    renderObjects(token, lines);
  }
  return lines.join('\n');
}

export function hsmListCommand(): Command {
  const command = new Command('list')
    .alias('ls')
    .description('list slots and tokens (PIN state included) and the keys and certificates in them, each with a URI to paste')
    .option('--token <label|uri>', 'token to log in to, so that its private keys are listed too (default: the configured key\'s token, else the only token)');
  addTokenOptions(command);
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
  return command.action((flags: ListFlags, self: Command) => {
    const { loaded, output, env } = createContext(self, tokenFlagsToConfig(flags));
    const { config } = loaded;
    const configuredKey = config.key !== undefined && isPkcs11Uri(config.key) ? parsePkcs11Uri(config.key) : undefined;
    const selector = flags.token !== undefined ? parseTokenSelector(flags.token) : configuredKey;
    const module = Pkcs11Module.load(requireModulePath(config.pkcs11Module, selector));
    const pin = findPin(pinSourcesFor(config, env, selector));
    const loginUri = pin ? selector ?? soleInitializedToken(module) : undefined;
    const inventory = takeInventory(module, { login: pin && loginUri ? { uri: loginUri, pin } : undefined });
    output.result(renderInventory(inventory), { event: 'inventory', ...inventory });
  });
}
