/**
 * What CI can check of the Yocto layer (meta-trustlink/) without bitbake: current
 * override syntax, licence checksums that match the artifact, every file://
 * present, and the recipe's do_install and run-ptest run against the built
 * artifact (do_install's body is plain shell once bitbake's ${VARS} are expanded).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSystemUser } from '../../helpers/as-user.js';
import { makeTempDir, REPO } from '../../helpers/paths.js';
import { run } from '../../helpers/run.js';
import { doInstall, LAYER, RECIPE_DIR, RECIPE_FILES, recipe, value, version, writeStagedWrapper } from './recipe.js';

function layerFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? layerFiles(join(dir, name)) : [join(dir, name)]));
}

it('uses the current override syntax (":" not "_") everywhere', () => {
  for (const file of layerFiles(LAYER).filter((f) => /\.(bb|bbappend|conf|inc)$/.test(f))) {
    const code = readFileSync(file, 'utf8').split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
    expect(code, file).not.toMatch(/_(append|prepend|remove)\b|_\$\{PN\}|_pn-|_class-(target|native)|\b[A-Z]+_(aarch64|x86-64|arm)\b/);
  }
});

it('declares its layer dependencies, meta-tpm as a recommendation, and only the releases docs/image.md reports parse-tested', () => {
  const conf = readFileSync(join(LAYER, 'conf', 'layer.conf'), 'utf8');
  expect(conf).toMatch(/^LAYERDEPENDS_trustlink = "core openembedded-layer"$/m);
  expect(conf).toMatch(/^LAYERRECOMMENDS_trustlink = "tpm-layer"$/m);
  const series = /^LAYERSERIES_COMPAT_trustlink = "([^"]+)"$/m.exec(conf)?.[1]?.split(' ') ?? [];
  expect(series).toContain('scarthgap');
  const tested = readFileSync(join(REPO, 'docs', 'image.md'), 'utf8').split('## Parse test')[1] ?? '';
  for (const name of series) expect(tested, `docs/image.md reports a parse test on ${name}`).toMatch(new RegExp(`^\\| ${name} \\|`, 'm'));
});

it('accepts only the glibc aarch64 and x86-64 hosts the addons load on (COMPATIBLE_HOST, matched as base.bbclass does)', () => {
  // re.match: anchored at the start only.
  const compatible = new RegExp(`^(?:${value('COMPATIBLE_HOST')})`);
  for (const host of ['aarch64-poky-linux', 'x86_64-poky-linux', 'aarch64-oe-linux']) expect(compatible.test(host), host).toBe(true);
  for (const host of ['arm-poky-linux-gnueabi', 'aarch64-poky-linux-musl', 'x86_64-poky-linux-musl', 'x86_64-poky-linux-gnux32', 'aarch64_be-poky-linux', 'i686-poky-linux']) {
    expect(compatible.test(host), host).toBe(false);
  }
});

it('keeps the addons\' SONAMEs out of the shared-library providers (PRIVATE_LIBS)', async () => {
  const native = join(REPO, 'dist', 'native', `linux-${process.arch}`);
  const sonames = await Promise.all(readdirSync(native).map(async (file) => /\(SONAME\)\s+Library soname: \[(.+)\]/.exec((await run('readelf', ['-d', join(native, file)])).stdout)?.[1]));
  expect(sonames.sort()).toEqual(value('PRIVATE_LIBS:${PN}').split(' ').sort());
});

it('defaults to PACKAGECONFIG "tpm", which pulls in the module the default config names', () => {
  expect(value('PACKAGECONFIG')).toBe('tpm');
  expect(value('PACKAGECONFIG[tpm]').split(',')[3]).toBe('tpm2-pkcs11');
  // meta-tpm's tpm2-pkcs11 installs ${libdir}/pkcs11/libtpm2_pkcs11.so.
  expect(JSON.parse(readFileSync(join(RECIPE_FILES, 'config.json'), 'utf8')).pkcs11Module).toBe('/usr/lib/pkcs11/libtpm2_pkcs11.so');
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

it('has every file:// it fetches, and looks for the tarball where `npm run pack` writes it, ignored by git', async () => {
  const uris = value('SRC_URI').split(/\s+/).filter(Boolean);
  expect(uris[0]).toBe('${TRUSTLINK_RELEASE_URI}');
  expect(value('TRUSTLINK_RELEASE_URI')).toBe('file://${TRUSTLINK_RELEASE_DIR}/trustlink-${PV}-linux-${TRUSTLINK_ARCH}.tar.gz');
  // ${TRUSTLINK_RECIPE_DIR}/../../../release, as the recipe's python expression resolves it.
  expect(value('TRUSTLINK_RELEASE_DIR')).toBe("${@os.path.normpath(d.getVar('TRUSTLINK_RECIPE_DIR') + '/../../../release')}");
  expect(join(RECIPE_DIR, '../../../release')).toBe(join(REPO, 'release'));
  const pack = readFileSync(join(REPO, 'bundle', 'pack.mjs'), 'utf8');
  expect(pack).toContain("const release = join(root, 'release');");
  expect(pack).toContain('const name = `trustlink-${version}-linux-${flags.arch}`;');
  expect((await run('git', ['check-ignore', '-q', `release/trustlink-${version}-linux-arm64.tar.gz`], { cwd: REPO })).code).toBe(0);
  for (const uri of uris.slice(1)) {
    const file = uri.replace(/^file:\/\//, '').replace(/;.*/, '');
    expect(statSync(join(RECIPE_FILES, file), { throwIfNoEntry: false })?.isFile(), `meta-trustlink/recipes-iot/trustlink/files/${file}`).toBe(true);
  }
});

describe('skips itself, with a reason, when it cannot be built (its anonymous python, with a stand-in datastore)', () => {
  const temp = makeTempDir('layer-skip');
  const tarball = join(temp.path, 'trustlink-0.1.0-linux-arm64.tar.gz');
  afterAll(() => temp.remove());

  interface Outcome { skipped: string | null; depends: string[]; sha256sum: string | null }

  /** Runs the recipe's `python __anonymous()` body against `vars` (already expanded, as bitbake's getVar gives them). */
  async function anonymous(vars: Record<string, string>): Promise<Outcome> {
    const body = /^python __anonymous\(\) \{\n([\s\S]*?)\n\}$/m.exec(recipe)?.[1];
    if (!body) throw new Error('no python __anonymous() in the recipe');
    const result = await run('python3', ['-c', ANONYMOUS_HARNESS, body, JSON.stringify({
      TRUSTLINK_ARCH: 'arm64', TRUSTLINK_RELEASE_URI: `file://${tarball}`, TRUSTLINK_RELEASE_SHA256: '', FILESPATH: RECIPE_FILES,
      PACKAGECONFIG: 'tpm', BBFILE_COLLECTIONS: 'core yocto openembedded-layer meta-python tpm-layer trustlink', ...vars,
    })]);
    if (result.code !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout) as Outcome;
  }

  it('without the tarball: skipped, saying how to make it or where to fetch it from; parsed again once it is there', async () => {
    const outcome = await anonymous({});
    expect(outcome.skipped).toBe(`no release tarball at ${tarball}: in the trustlink checkout run \`npm ci && npm run pack -- --arch arm64\`, `
      + 'or set TRUSTLINK_RELEASE_URI and TRUSTLINK_RELEASE_SHA256 in a bbappend or local.conf (docs/image.md)');
    expect(outcome.depends).toEqual([tarball]);
    writeFileSync(tarball, '');
    expect((await anonymous({})).skipped).toBeNull();
    expect((await anonymous({ TRUSTLINK_RELEASE_URI: 'file://config.json' })).skipped).toBeNull();
  });

  it('from a server: needs TRUSTLINK_RELEASE_SHA256, which becomes SRC_URI[sha256sum]', async () => {
    const uri = 'https://downloads.example.com/trustlink-0.1.0-linux-arm64.tar.gz';
    expect((await anonymous({ TRUSTLINK_RELEASE_URI: uri })).skipped).toMatch(/TRUSTLINK_RELEASE_SHA256 is not set/);
    expect(await anonymous({ TRUSTLINK_RELEASE_URI: uri, TRUSTLINK_RELEASE_SHA256: 'ab'.repeat(32) })).toMatchObject({ skipped: null, sha256sum: 'ab'.repeat(32) });
  });

  it('PACKAGECONFIG "tpm" without meta-tpm: skipped, naming the layer; "softhsm" alone needs no meta-tpm', async () => {
    writeFileSync(tarball, '');
    const withoutTpm = 'core yocto openembedded-layer trustlink';
    expect((await anonymous({ BBFILE_COLLECTIONS: withoutTpm })).skipped).toMatch(/^PACKAGECONFIG "tpm" .* needs tpm2-pkcs11 from meta-security's meta-tpm: add meta-security\/meta-tpm to bblayers.conf/);
    expect((await anonymous({ BBFILE_COLLECTIONS: withoutTpm, PACKAGECONFIG: 'softhsm' })).skipped).toBeNull();
  });
});

/** bitbake's d (getVar, getVarFlag, setVarFlag) and the bb calls the recipe's anonymous python makes, over plain values. */
const ANONYMOUS_HARNESS = `
import json, sys, textwrap, types
body, values = sys.argv[1], json.loads(sys.argv[2])
class SkipRecipe(Exception):
    pass
depends, flags = [], {}
class Data:
    def getVar(self, name):
        return values.get(name)
    def getVarFlag(self, name, flag):
        return flags.get((name, flag))
    def setVarFlag(self, name, flag, value):
        flags[(name, flag)] = value
bb = types.SimpleNamespace(
    parse=types.SimpleNamespace(SkipRecipe=SkipRecipe, mark_dependency=lambda d, f: depends.append(f)),
    utils=types.SimpleNamespace(contains=lambda var, item, yes, no, d: yes if set(item.split()) <= set((d.getVar(var) or '').split()) else no))
scope = {'bb': bb}
exec('def anonymous(d):\\n' + textwrap.indent(textwrap.dedent(body), '    '), scope)
try:
    scope['anonymous'](Data())
    skipped = None
except SkipRecipe as skip:
    skipped = str(skip)
print(json.dumps({'skipped': skipped, 'depends': depends, 'sha256sum': flags.get(('SRC_URI', 'sha256sum'))}))
`;

describe('installed as the recipe installs it', () => {
  const temp = makeTempDir('layer');
  const D = join(temp.path, 'image');
  const staged = (path: string) => join(D, path);
  const stagedWrapper = () => writeStagedWrapper(D, join(temp.path, 'trustlink'));

  beforeAll(async () => {
    // do_install gives files to the user the recipe's useradd makes.
    ensureSystemUser();
    await doInstall({ D, S: join(REPO, 'dist'), TRUSTLINK_UNPACKED: RECIPE_FILES });
  });

  afterAll(() => temp.remove());

  it('installs the artifact, a /usr/bin/trustlink that runs it by absolute paths, the units and a config file', () => {
    expect(readFileSync(staged('usr/bin/trustlink'), 'utf8')).toContain('\nexec /usr/bin/node /usr/lib/trustlink/trustlink "$@"\n');
    expect(statSync(staged('usr/bin/trustlink')).mode & 0o777).toBe(0o755);
    for (const file of ['trustlink', 'trustlink.cjs', 'compile-cache.cjs', 'aws-crt.cjs', 'x509.cjs', 'mqtt-packet.cjs', 'LICENSES', `native/linux-${process.arch}/aws-crt-nodejs.node`, `native/linux-${process.arch}/pkcs11.node`]) {
      expect(statSync(staged(`usr/lib/trustlink/${file}`)).isFile(), file).toBe(true);
    }
    for (const unit of value('SYSTEMD_SERVICE:${PN}').split(' ')) expect(statSync(staged(`usr/lib/systemd/system/${unit}`)).isFile(), unit).toBe(true);
    expect(statSync(staged('etc/trustlink/config.json')).isFile()).toBe(true);
  });

  it('makes /etc/trustlink root:trustlink 1770 and the config trustlink 0640: provisioning replaces it, nobody else reads it', () => {
    const user = ensureSystemUser();
    expect(statSync(staged('etc/trustlink'))).toMatchObject({ uid: 0, gid: user.gid, mode: expect.any(Number) });
    expect(statSync(staged('etc/trustlink')).mode & 0o7777).toBe(0o1770);
    expect(statSync(staged('etc/trustlink/config.json'))).toMatchObject({ uid: user.uid, gid: user.gid });
    expect(statSync(staged('etc/trustlink/config.json')).mode & 0o7777).toBe(0o640);
  });

  it('makes the job handler directory root\'s, writable by its owner only (the agent refuses anything laxer)', () => {
    expect(statSync(staged('etc/trustlink/jobs.d'))).toMatchObject({ uid: 0, gid: 0 });
    expect(statSync(staged('etc/trustlink/jobs.d')).mode & 0o7777).toBe(0o755);
  });

  it('runs from the image with no PATH and no environment', async () => {
    const result = await run('/usr/bin/env', ['-i', stagedWrapper(), '--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('passes its ptest against the artifact, with ptest PASS lines', async () => {
    const module = (await run('sh', ['-c', 'ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1'])).stdout.trim();
    const ptest = await run(join(RECIPE_FILES, 'run-ptest'), [], { env: { PATH: '/usr/bin:/bin', TRUSTLINK: stagedWrapper(), SOFTHSM_MODULE: module } });
    expect(ptest.stdout.split('\n').filter((line) => /^(PASS|FAIL): /.test(line))).toEqual([
      'PASS: trustlink --version', 'PASS: trustlink --help', 'PASS: throwaway SoftHSM2 token', 'PASS: trustlink selftest --no-network',
    ]);
    expect(ptest.code, ptest.stdout).toBe(0);
  });
});
