/** The text form of `trustlink hsm list`: a table per token, each object's URI under its row. */
import type { Inventory, KeyEntry, TokenEntry } from '../pkcs11/inventory.js';
import { describePinFlags } from '../pkcs11/pin-flags.js';

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
    body.forEach((line, index) => {
      lines.push(line, `        ${objects.keys[index]?.uri}`);
    });
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
