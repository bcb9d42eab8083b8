#!/usr/bin/env node
// npm run pack [-- --arch arm64]: builds the artifact for one architecture and
// packs it as release/trustlink-VERSION-linux-ARCH.tar.gz (one top folder of
// the same name) with a sha256sum file beside it: what the Yocto recipe installs.
// The tarball is reproducible: sorted names, root owner, mtime of the last commit.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({ options: { arch: { type: 'string', default: process.arch } } });
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// One timestamp for the build (anything it embeds) and the tarball's mtimes: the last commit's.
const mtime = process.env.SOURCE_DATE_EPOCH ?? execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' }).trim();
execFileSync(process.execPath, [join(root, 'bundle/build.mjs'), '--arch', flags.arch], { stdio: 'inherit', env: { ...process.env, SOURCE_DATE_EPOCH: mtime } });
const built = join(root, flags.arch === process.arch ? 'dist' : `dist-${flags.arch}`);
const name = `trustlink-${version}-linux-${flags.arch}`;
const release = join(root, 'release');
const tarball = join(release, `${name}.tar.gz`);
mkdirSync(release, { recursive: true });
rmSync(tarball, { force: true });

const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${mtime}`,
  '--transform', `s,^\\.,${name},`, '-C', built, '-cf', '-', '.'], { maxBuffer: 256 * 1024 * 1024 });
writeFileSync(tarball, execFileSync('gzip', ['-9n'], { input: tar, maxBuffer: 256 * 1024 * 1024 }));
const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
writeFileSync(`${tarball}.sha256`, `${sha256}  ${name}.tar.gz\n`);
console.log(`packed release/${name}.tar.gz (sha256 ${sha256})`);
