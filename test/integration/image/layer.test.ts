/**
 * What CI can check of the Yocto layer (recipes/) without bitbake: current
 * override syntax, licence checksums that match the artifact, every file://
 * present, and the recipe's do_install and run-ptest run against the built
 * artifact (do_install's body is plain shell once bitbake's ${VARS} are expanded).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, REPO } from '../../helpers/paths.js';
import { run } from '../../helpers/run.js';

const LAYER = join(REPO, 'recipes');
const RECIPE_DIR = join(LAYER, 'recipes-iot', 'trustlink');
const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
const recipeFile = join(RECIPE_DIR, `trustlink_${version}.bb`);
const recipe = readFileSync(recipeFile, 'utf8');
// Logical lines: comments dropped, backslash continuations joined.
const statements = recipe.replace(/\\\n/g, ' ').split('\n').filter((line) => !/^\s*#/.test(line));

/** The value of a plain `NAME = "..."` (or ?=) assignment in the recipe. */
function value(name: string): string {
  const escaped = name.replace(/[$.{}]/g, '\\$&');
  const line = statements.find((l) => new RegExp(`^${escaped}\\s*\\??=\\s*"`).test(l));
  if (!line) throw new Error(`${name} is not set in ${recipeFile}`);
  return (/"(.*)"/.exec(line)?.[1] ?? '').trim();
}

function layerFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? layerFiles(join(dir, name)) : [join(dir, name)]));
}

it('uses the current override syntax (":" not "_") everywhere', () => {
  for (const file of layerFiles(LAYER).filter((f) => /\.(bb|bbappend|conf|inc)$/.test(f))) {
    const code = readFileSync(file, 'utf8').split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
    expect(code, file).not.toMatch(/_(append|prepend|remove)\b|_\$\{PN\}|_pn-|_class-(target|native)|\b[A-Z]+_(aarch64|x86-64|arm)\b/);
  }
});

it('declares its layer dependencies and the releases it was parse-tested on', () => {
  const conf = readFileSync(join(LAYER, 'conf', 'layer.conf'), 'utf8');
  expect(conf).toMatch(/^LAYERDEPENDS_trustlink = "core openembedded-layer"$/m);
  expect(conf).toMatch(/^LAYERSERIES_COMPAT_trustlink = "scarthgap\b.*"$/m);
});

it('has licence checksums that match the artifact', () => {
  const entries = [...value('LIC_FILES_CHKSUM').matchAll(/file:\/\/([^;\s]+);md5=([0-9a-f]{32})/g)];
  expect(entries.map((e) => e[1])).toEqual(['LICENSE', 'LICENSES']);
  for (const [, file, md5] of entries) {
    expect(createHash('md5').update(readFileSync(join(REPO, 'dist', file as string))).digest('hex'), `md5 of dist/${file}: update LIC_FILES_CHKSUM after reviewing the licence change`).toBe(md5);
  }
});

it('names in LICENSE every licence the artifact\'s packages carry', () => {
  const declared = value('LICENSE').split(/\s*[&|]\s*/);
  const carried = new Set([...readFileSync(join(REPO, 'dist', 'LICENSES'), 'utf8').matchAll(/^==> \S+ \((\S+)\) <==$/gm)].map((m) => m[1] as string));
  expect(carried.size).toBeGreaterThan(0);
  for (const licence of carried) expect(declared, `${licence} is in dist/LICENSES`).toContain(licence);
});

it('has every file:// it fetches, and expects the tarball `npm run pack` makes', () => {
  const uris = value('SRC_URI').split(/\s+/).filter(Boolean);
  expect(uris[0]).toBe('${TRUSTLINK_RELEASE_URI}');
  expect(value('TRUSTLINK_RELEASE_URI')).toBe('file://trustlink-${PV}-linux-${TRUSTLINK_ARCH}.tar.gz');
  expect(readFileSync(join(REPO, 'bundle', 'pack.mjs'), 'utf8')).toContain('const name = `trustlink-${version}-linux-${flags.arch}`;');
  for (const uri of uris.slice(1)) {
    const file = uri.replace(/^file:\/\//, '').replace(/;.*/, '');
    expect(statSync(join(RECIPE_DIR, 'files', file), { throwIfNoEntry: false })?.isFile(), `recipes/recipes-iot/trustlink/files/${file}`).toBe(true);
  }
});

describe('installed as the recipe installs it', () => {
  const temp = makeTempDir('layer');
  const D = join(temp.path, 'image');
  const nodeDir = dirname(process.execPath);
  const vars: Record<string, string> = {
    D, S: join(REPO, 'dist'), TRUSTLINK_UNPACKED: join(RECIPE_DIR, 'files'), TRUSTLINK_ARCH: process.arch,
    libdir: '/usr/lib', bindir: '/usr/bin', sysconfdir: '/etc', systemd_system_unitdir: '/usr/lib/systemd/system',
  };
  const staged = (path: string) => join(D, path);

  beforeAll(async () => {
    const body = /^do_install\(\) \{\n([\s\S]*?)\n\}$/m.exec(recipe)?.[1];
    if (!body) throw new Error('no do_install() in the recipe');
    // bitbake expands ${VAR} before the shell runs, quotes or not; so does this.
    const script = body.replace(/\$\{(\w+)\}/g, (_whole, name: string) => {
      if (!(name in vars)) throw new Error(`do_install uses \${${name}}: add it to this test's vars`);
      return vars[name] as string;
    });
    const result = await run('bash', ['-ec', script]);
    if (result.code !== 0) throw new Error(`do_install failed: ${result.stderr}`);
  });

  afterAll(() => temp.remove());

  /** The wrapper template with the staged image's paths, as do_install fills it in with the target's. */
  function stagedWrapper(): string {
    const file = join(temp.path, 'trustlink');
    const template = readFileSync(join(RECIPE_DIR, 'files', 'trustlink-wrapper.sh'), 'utf8');
    writeFileSync(file, template.replaceAll('@LIBDIR@', staged('usr/lib')).replaceAll('@BINDIR@', nodeDir).replaceAll('@ARCH@', process.arch), { mode: 0o755 });
    return file;
  }

  it('installs the artifact, a /usr/bin/trustlink that runs it by absolute paths, the units and a config file', () => {
    expect(readFileSync(staged('usr/bin/trustlink'), 'utf8')).toContain('\nexec /usr/bin/node /usr/lib/trustlink/trustlink "$@"\n');
    expect(statSync(staged('usr/bin/trustlink')).mode & 0o777).toBe(0o755);
    for (const file of ['trustlink', 'trustlink.cjs', 'aws-crt.cjs', 'x509.cjs', 'mqtt-packet.cjs', 'LICENSES', `native/linux-${process.arch}/aws-crt-nodejs.node`, `native/linux-${process.arch}/pkcs11.node`]) {
      expect(statSync(staged(`usr/lib/trustlink/${file}`)).isFile(), file).toBe(true);
    }
    for (const unit of value('SYSTEMD_SERVICE:${PN}').split(' ')) expect(statSync(staged(`usr/lib/systemd/system/${unit}`)).isFile(), unit).toBe(true);
    expect(statSync(staged('etc/trustlink/config.json')).isFile()).toBe(true);
  });

  it('makes the job handler directory, writable by its owner only (the agent refuses anything laxer)', () => {
    expect(statSync(staged('etc/trustlink/jobs.d')).mode & 0o7777).toBe(0o755);
  });

  it('runs from the image with no PATH and no environment', async () => {
    const result = await run('/usr/bin/env', ['-i', stagedWrapper(), '--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('passes its ptest against the artifact, with ptest PASS lines', async () => {
    const module = (await run('sh', ['-c', 'ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1'])).stdout.trim();
    const ptest = await run(join(RECIPE_DIR, 'files', 'run-ptest'), [], { env: { PATH: '/usr/bin:/bin', TRUSTLINK: stagedWrapper(), SOFTHSM_MODULE: module } });
    expect(ptest.stdout.split('\n').filter((line) => /^(PASS|FAIL): /.test(line))).toEqual([
      'PASS: trustlink --version', 'PASS: trustlink --help', 'PASS: throwaway SoftHSM2 token', 'PASS: trustlink selftest --no-network',
    ]);
    expect(ptest.code, ptest.stdout).toBe(0);
  });
});
