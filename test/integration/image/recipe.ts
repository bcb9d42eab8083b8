/**
 * The Yocto recipe as the tests read it: its plain assignments, and its
 * do_install run for real into a folder (do_install's body is plain shell
 * once bitbake's ${VARS} are expanded). Run as root, its install -o/-g set
 * the owners bitbake's pseudo records for the image.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from '../../helpers/paths.js';
import { run } from '../../helpers/run.js';

export const LAYER = join(REPO, 'meta-trustlink');
export const RECIPE_DIR = join(LAYER, 'recipes-iot', 'trustlink');
export const RECIPE_FILES = join(RECIPE_DIR, 'files');
export const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
export const recipeFile = join(RECIPE_DIR, `trustlink_${version}.bb`);
export const recipe = readFileSync(recipeFile, 'utf8');
// Logical lines: comments dropped, backslash continuations joined.
const statements = recipe.replace(/\\\n/g, ' ').split('\n').filter((line) => !/^\s*#/.test(line));

/** The value of a plain `NAME = "..."` (or ?=, ??=) assignment in the recipe. */
export function value(name: string): string {
  const escaped = name.replace(/[$.{}[\]]/g, '\\$&');
  const line = statements.find((l) => new RegExp(`^${escaped}\\s*\\?{0,2}=\\s*"`).test(l));
  if (!line) throw new Error(`${name} is not set in ${recipeFile}`);
  return (/"(.*)"/.exec(line)?.[1] ?? '').trim();
}

export interface InstallVars {
  /** The image root to install into. */
  D: string;
  /** The unpacked release tarball (dist/ is the same folder). */
  S: string;
  /** Where the recipe's file:// entries were unpacked (files/, or a bbappend's). */
  TRUSTLINK_UNPACKED: string;
}

/** Runs the recipe's do_install with the target's usual paths; throws with stderr when it fails. */
export async function doInstall(vars: InstallVars): Promise<void> {
  const all: Record<string, string> = {
    ...vars, TRUSTLINK_ARCH: process.arch,
    libdir: '/usr/lib', bindir: '/usr/bin', sysconfdir: '/etc', systemd_system_unitdir: '/usr/lib/systemd/system',
  };
  const body = /^do_install\(\) \{\n([\s\S]*?)\n\}$/m.exec(recipe)?.[1];
  if (!body) throw new Error('no do_install() in the recipe');
  // bitbake expands ${VAR} before the shell runs, quotes or not; so does this.
  const script = body.replace(/\$\{(\w+)\}/g, (_whole, name: string) => {
    if (!(name in all)) throw new Error(`do_install uses \${${name}}: add it to doInstall's vars`);
    return all[name] as string;
  });
  const result = await run('bash', ['-ec', script]);
  if (result.code !== 0) throw new Error(`do_install failed: ${result.stderr}`);
}

/**
 * The wrapper template with the staged image's paths (as do_install fills it in with the
 * target's) and this machine's Node, written to `file`.
 */
export function writeStagedWrapper(root: string, file: string): string {
  const template = readFileSync(join(RECIPE_FILES, 'trustlink-wrapper.sh'), 'utf8');
  writeFileSync(file, template.replaceAll('@LIBDIR@', join(root, 'usr/lib')).replaceAll('@BINDIR@', dirname(process.execPath)).replaceAll('@ARCH@', process.arch), { mode: 0o755 });
  return file;
}
