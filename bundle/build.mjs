#!/usr/bin/env node
// Builds the artifact for one Linux architecture: minified esbuild bundles of
// src/ and its JS dependencies (trustlink.cjs, and aws-crt.cjs read only by
// commands that connect; source maps beside them), an executable launcher
// `trustlink`, the native addons in native/linux-<arch>/, and the third-party
// licences in LICENSES. The folder runs wherever it is copied, with no
// node_modules, no network and an empty environment. See docs/build.md.
//
//   node bundle/build.mjs                 -> dist/        (this machine's arch)
//   node bundle/build.mjs --arch arm64    -> dist-arm64/  (any other arch)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { collectLicenses } from './licenses.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// The self-test refuses a clock earlier than this. Reproducible builds (Yocto) set SOURCE_DATE_EPOCH.
const buildTime = new Date(process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.now()).toISOString();

// The size limit (bytes) of the two bundles together. CI fails the build past it: a dependency
// that drags in a large tree should be a decision, not an accident.
// The main bundle is parsed by every command, so it has a limit of its own.
const MAIN_BUNDLE_LIMIT = 320 * 1024;
const BUNDLE_SIZE_LIMIT = 896 * 1024;

const { values: flags } = parseArgs({ options: { arch: { type: 'string', default: process.arch } } });
const arch = flags.arch;
const targets = {
  x64: { crossPrefix: 'x86_64-linux-gnu-' },
  arm64: { crossPrefix: 'aarch64-linux-gnu-' },
};
if (!targets[arch]) {
  console.error(`build: --arch must be one of ${Object.keys(targets).join(', ')} (armv7: aws-crt ships no 32-bit ARM addon, see docs/build.md)`);
  process.exit(64);
}
const native = arch === process.arch;
if (!native && arch !== 'arm64') {
  console.error('build: cross builds are made for arm64 only (bundle/arm64-env.sh sets up the toolchain)');
  process.exit(64);
}
const out = join(root, native ? 'dist' : `dist-${arch}`);
const platformDir = `linux-${arch}`;
const nativeDir = join(out, 'native', platformDir);

/** The cross toolchain, arm64 Node and qemu that bundle/arm64-env.sh sets up (KEY=VALUE lines). */
let crossEnvCache;
function crossEnv() {
  crossEnvCache ??= Object.fromEntries(execFileSync('bash', [join(root, 'bundle/arm64-env.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)));
  return crossEnvCache;
}

/** pkcs11js for the target: npm ci's build for this machine, or a cross build (N-API, so any Node >= 20 loads it). */
function pkcs11Addon() {
  if (native) return join(root, 'node_modules/pkcs11js/build/Release/pkcs11.node');
  const env = crossEnv();
  const work = join(root, '.tmp', `pkcs11js-${arch}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const entry of ['binding.gyp', 'package.json', 'src', 'includes']) cpSync(join(root, 'node_modules/pkcs11js', entry), join(work, entry), { recursive: true });
  const cross = targets[arch].crossPrefix;
  // node-gyp as npm ships it, so the build needs no extra dependency. Found beside the npm on
  // PATH, not under Node's global root: an official Node build (bundle/official-node.sh) has no npm.
  const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const nodeGyp = join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const gyp = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--arch=${arch}`, `--nodedir=${env.ARM64_NODE_DIR}`, '--jobs=max'], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, CC: `${cross}gcc`, CXX: `${cross}g++`, LINK: `${cross}g++`, AR: `${cross}ar` },
  });
  // node-gyp is chatty when it works; show its output only when it does not.
  if (gyp.status !== 0) throw new Error(`node-gyp failed for pkcs11js (${arch}):\n${gyp.stdout}${gyp.stderr}`);
  return join(work, 'build/Release/pkcs11.node');
}

// pkcs11js requires its addon by a relative path; point that at native/ instead.
const nativeAddonPlugin = {
  name: 'native-addons',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\.node$/ }, (args) => ({
      path: `./native/${platformDir}/${args.path.split('/').pop()}`,
      external: true,
    }));
  },
};

// aws-crt's binding.js runs `ldd --version` at load to choose glibc or musl,
// then looks for its addon beside its own sources (gone once bundled), and
// only then at AWS_CRT_NODEJS_BINARY_ABSOLUTE_PATH. The target is known at
// build time, so both are replaced by constants: glibc, and the bundle's own
// native/ folder. The env override stays as aws-crt's fallback.
const awsCrtBindingPlugin = {
  name: 'aws-crt-binding',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /aws-crt[\\/]dist[\\/]native[\\/]binding\.js$/ }, (args) => {
      const replacements = [
        ['const cRuntime = getCRuntime();', 'const cRuntime = "glibc";'],
        ["path.join(bin_path, platformDir, binary_name) + '.node'", `path.join(__dirname, "native", ${JSON.stringify(platformDir)}, binary_name + ".node")`],
      ];
      let contents = readFileSync(args.path, 'utf8');
      for (const [from, to] of replacements) {
        // An aws-crt update that moves these lines must fail the build, not silently spawn ldd again.
        if (!contents.includes(from)) throw new Error(`aws-crt-binding: "${from}" not found in ${args.path}; update bundle/build.mjs`);
        contents = contents.replace(from, to);
      }
      // Drop the probe itself, so the bundle holds no `ldd` spawn at all.
      contents = contents.replace(/function getCRuntime\(\) \{[\s\S]*?\n\}\n/, '');
      if (contents.includes("spawnSync('ldd'")) throw new Error('aws-crt-binding: the ldd probe is still in binding.js');
      // ...and its child_process import (net, dgram and stream come with it), unused without the probe.
      contents = contents.replace('const child_process_1 = __importDefault(require("child_process"));\n', '');
      if (contents.includes('child_process')) throw new Error('aws-crt-binding: binding.js still imports child_process');
      return { contents, loader: 'js' };
    });
  },
};

// commander requires child_process at load, for executable subcommands, which
// trustlink has none of; child_process brings net, dgram and stream with it.
// It is required on the first spawn instead.
const commanderPlugin = {
  name: 'commander-lazy-child-process',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const from = "const childProcess = require('node:child_process');";
      const contents = readFileSync(args.path, 'utf8');
      if (!contents.includes(from)) throw new Error(`commander-lazy-child-process: "${from}" not found in ${args.path}; update bundle/build.mjs`);
      return { contents: contents.replace(from, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"), loader: 'js' };
    });
  },
};

// Large dependencies that few commands use go in files of their own, required
// only when a command needs them: aws-crt's JavaScript (aws-crt.cjs, for the
// commands that connect), the X.509/ASN.1 libraries (x509.cjs, for hsm csr
// and hsm import-cert) and the MQTT framing of the local endpoint
// (mqtt-packet.cjs, for run). Each import of a listed package becomes a require of
// its chunk, so the main bundle never parses them at start-up.
const chunks = {
  'aws-crt.cjs': { entry: join(root, 'node_modules/aws-crt/dist/index.js'), packages: { 'aws-crt': '' } },
  'x509.cjs': {
    entry: join(root, 'bundle/x509-chunk.mjs'),
    // reflect-metadata must run before @peculiar/x509; the chunk's entry imports it first.
    packages: { '@peculiar/x509': '.x509', '@peculiar/asn1-schema': '.asn1Schema', '@peculiar/asn1-x509': '.asn1X509', 'reflect-metadata': '' },
  },
  'mqtt-packet.cjs': { entry: join(root, 'node_modules/mqtt-packet/mqtt.js'), packages: { 'mqtt-packet': '' } },
};
const chunkPlugin = {
  name: 'chunks',
  setup(pluginBuild) {
    for (const [file, { packages }] of Object.entries(chunks)) {
      for (const [specifier, member] of Object.entries(packages)) {
        const filter = new RegExp(`^${specifier.replace(/[/.-]/g, '\\$&')}$`);
        pluginBuild.onResolve({ filter }, () => ({ path: specifier, namespace: 'chunk' }));
        pluginBuild.onLoad({ filter, namespace: 'chunk' }, () => ({ contents: `module.exports = require("./${file}")${member};`, loader: 'js' }));
      }
    }
    pluginBuild.onResolve({ filter: /^\.\/[\w-]+\.cjs$/, namespace: 'chunk' }, (args) => ({ path: args.path, external: true }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'external',
  metafile: true,
  logLevel: 'warning',
};
const bundles = [
  { entryPoints: [join(root, 'src/cli/entry.ts')], outfile: join(out, 'trustlink.cjs'), define: { TRUSTLINK_VERSION: JSON.stringify(version), TRUSTLINK_BUILD_TIME: JSON.stringify(buildTime) }, plugins: [nativeAddonPlugin, chunkPlugin, commanderPlugin] },
  { entryPoints: [chunks['aws-crt.cjs'].entry], outfile: join(out, 'aws-crt.cjs'), plugins: [awsCrtBindingPlugin] },
  { entryPoints: [chunks['x509.cjs'].entry], outfile: join(out, 'x509.cjs') },
  // The parser needs bl's BufferList only; bl's stream wrapper would bring all of readable-stream (78 KB).
  // debug: see bundle/no-debug.cjs.
  { entryPoints: [chunks['mqtt-packet.cjs'].entry], outfile: join(out, 'mqtt-packet.cjs'), alias: { bl: 'bl/BufferList.js', debug: join(root, 'bundle/no-debug.cjs') } },
];

rmSync(out, { recursive: true, force: true });
mkdirSync(nativeDir, { recursive: true });
const results = await Promise.all(bundles.map((options) => build({ ...common, ...options })));

const addons = [
  { from: pkcs11Addon(), name: 'pkcs11.node', strip: true },
  { from: join(root, `node_modules/aws-crt/dist/bin/${platformDir}-glibc/aws-crt-nodejs.node`), name: 'aws-crt-nodejs.node', strip: false },
];
for (const addon of addons) {
  const to = join(nativeDir, addon.name);
  copyFileSync(addon.from, to);
  if (addon.strip) execFileSync(`${targets[arch].crossPrefix}strip`, ['--strip-unneeded', to]);
}

// esbuild writes legal comments only when the bundled sources have some.
const legalComments = bundles.map(({ outfile }) => {
  const legalFile = `${outfile}.LEGAL.txt`;
  const text = existsSync(legalFile) ? readFileSync(legalFile, 'utf8') : '';
  rmSync(legalFile, { force: true });
  return text;
}).join('');
const inputs = results.flatMap((result) => Object.keys(result.metafile.inputs));
writeFileSync(join(out, 'LICENSES'), collectLicenses(root, inputs, legalComments, ['aws-crt', 'pkcs11js']));
copyFileSync(join(root, 'LICENSE'), join(out, 'LICENSE'));

// --version and --help are answered by the launcher from text the bundle
// printed at build time: they then cost little more than starting Node
// (the bundle's built-ins and commander add about 70% to that). Any other
// arguments, including `<command> --help`, run the bundle.
// A cross-built bundle loads its addons, so it runs under qemu with the arm64 Node.
const [node, ...nodeArgs] = native ? [process.execPath] : [crossEnv().ARM64_QEMU, '-L', '/', crossEnv().ARM64_NODE];
const runBundle = (args) => execFileSync(node, [...nodeArgs, join(out, 'trustlink.cjs'), ...args], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
const stored = { '--version': runBundle(['--version']), '--help': runBundle(['--help']) };
// Names the bundles' compile cache on Node 20: another build, even one of the same size and time, is another cache.
const buildId = createHash('sha256').update(bundles.map(({ outfile }) => readFileSync(outfile)).join('\0')).digest('hex').slice(0, 16);
writeFileSync(join(out, 'trustlink'), `#!/usr/bin/env node
"use strict";
const stored = ${JSON.stringify({ ...stored, '-V': stored['--version'], '-h': stored['--help'] })};
const args = process.argv.slice(2);
if (args.length === 1 && Object.hasOwn(stored, args[0])) process.stdout.write(stored[args[0]]);
else {
  // V8's compiled code of the bundles is kept between runs; only in a folder of this user's
  // (systemd's CacheDirectory=, else ~/.cache), never a shared /tmp. Node >= 22.1 has its own
  // cache; on older Node compile-cache.cjs does the same for the bundles.
  const module = require("node:module");
  const home = process.env.XDG_CACHE_HOME || (process.env.HOME && require("node:path").join(process.env.HOME, ".cache"));
  const cache = process.env.CACHE_DIRECTORY || (home && require("node:path").join(home, "trustlink"));
  if (cache) {
    try {
      // Node makes only the last folder of the path; a read-only home just goes without the cache.
      require("node:fs").mkdirSync(cache, { recursive: true, mode: 0o700 });
      if (module.enableCompileCache) module.enableCompileCache(cache);
      else require("./compile-cache.cjs")(cache, ${JSON.stringify(buildId)});
    } catch {}
  }
  require("./trustlink.cjs");
}
`);
chmodSync(join(out, 'trustlink'), 0o755);
copyFileSync(join(root, 'bundle', 'compile-cache.cjs'), join(out, 'compile-cache.cjs'));
// Inside the repo the nearest package.json says "module"; this one makes trustlink CommonJS anywhere.
writeFileSync(join(out, 'package.json'), `${JSON.stringify({ name: 'trustlink', type: 'commonjs', private: true, version, license: 'Apache-2.0' }, null, 2)}\n`);

const bundleBytes = bundles.reduce((sum, { outfile }) => sum + statSync(outfile).size, 0);
const mainBytes = statSync(join(out, 'trustlink.cjs')).size;
if (mainBytes > MAIN_BUNDLE_LIMIT || bundleBytes > BUNDLE_SIZE_LIMIT) {
  console.error(`build: trustlink.cjs is ${mainBytes} bytes (limit ${MAIN_BUNDLE_LIMIT}) and all bundles ${bundleBytes} (limit ${BUNDLE_SIZE_LIMIT}): over a limit in bundle/build.mjs`);
  process.exit(1);
}
console.log(`built ${out.slice(root.length + 1)}/ (trustlink ${version}, ${platformDir}, bundles ${(bundleBytes / 1024).toFixed(0)} KiB)`);
