#!/usr/bin/env node
// Builds dist/: one minified esbuild bundle of src/ and its JS dependencies,
// an executable dist/trustlink, and the native addons it loads in
// dist/native/<platform>-<arch>/, so the folder runs wherever it is copied.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const platformDir = `${process.platform}-${process.arch}`;
const nativeDir = join(dist, 'native', platformDir);
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// The self-test refuses a clock earlier than this. Reproducible builds (Yocto) set SOURCE_DATE_EPOCH.
const buildTime = new Date(process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.now()).toISOString();

// The addons for this platform: where they are in node_modules, and their name in dist/native/.
const addons = [
  { from: join(root, 'node_modules/pkcs11js/build/Release/pkcs11.node'), name: 'pkcs11.node' },
  { from: join(root, `node_modules/aws-crt/dist/bin/${platformDir}-glibc/aws-crt-nodejs.node`), name: 'aws-crt-nodejs.node' },
];

// pkcs11js requires its addon by a relative path; point that at dist/native/ instead.
const nativeAddonPlugin = {
  name: 'native-addons',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\.node$/ }, (args) => ({
      path: `./native/${platformDir}/${args.path.split('/').pop()}`,
      external: true,
    }));
  },
};

// aws-crt looks for its addon beside its own sources, which a bundle does not have.
const banner = `process.env.AWS_CRT_NODEJS_BINARY_ABSOLUTE_PATH ??= require("node:path").join(__dirname, "native", process.platform + "-" + process.arch, "aws-crt-nodejs.node");`;

rmSync(dist, { recursive: true, force: true });
mkdirSync(nativeDir, { recursive: true });
await build({
  entryPoints: [join(root, 'src/cli/entry.ts')],
  outfile: join(dist, 'trustlink.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: 'external',
  legalComments: 'external',
  banner: { js: banner },
  define: { TRUSTLINK_VERSION: JSON.stringify(version), TRUSTLINK_BUILD_TIME: JSON.stringify(buildTime) },
  plugins: [nativeAddonPlugin],
  logLevel: 'warning',
});
for (const addon of addons) copyFileSync(addon.from, join(nativeDir, addon.name));
writeFileSync(join(dist, 'trustlink'), '#!/usr/bin/env node\nrequire("./trustlink.cjs");\n');
// Inside the repo the nearest package.json says "module"; this one makes dist/trustlink CommonJS anywhere.
writeFileSync(join(dist, 'package.json'), `${JSON.stringify({ type: 'commonjs', private: true, version }, null, 2)}\n`);
chmodSync(join(dist, 'trustlink'), 0o755);
console.log(`built dist/ (trustlink ${version}, ${platformDir})`);
