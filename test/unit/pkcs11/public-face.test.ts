/**
 * pkcs11js stays behind src/pkcs11/: only native.ts imports it, and only
 * pkcs11/ imports native.ts (everyone else goes through token.ts and the
 * other pkcs11/ modules: tokens, keys, sessions). native.ts requires the addon
 * on first use, so nothing imports pkcs11js at module level.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../../helpers/paths.js';

const SRC = join(REPO, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => ({ name: relative(SRC, path), text: readFileSync(path, 'utf8') }));

it('lets only pkcs11/native.ts use pkcs11js, and only by a type import and a require on first use', () => {
  const users = files.filter((file) => /['"]pkcs11js['"]/.test(file.text)).map((file) => file.name);
  expect(users).toEqual(['pkcs11/native.ts']);
  const native = files.find((file) => file.name === 'pkcs11/native.ts')?.text ?? '';
  expect(native).not.toMatch(/^import (?!type )[^;]*['"]pkcs11js['"]/m);
});

it('lets no folder but pkcs11/ import pkcs11/native.ts', () => {
  const outside = files.filter((file) => !file.name.startsWith('pkcs11/') && /from '[./]*pkcs11\/native\.js'/.test(file.text)).map((file) => file.name);
  expect(outside).toEqual([]);
});
