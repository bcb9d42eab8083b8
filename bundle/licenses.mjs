// The artifact's third-party licences, as an image's licence manifest needs
// them: every npm package esbuild put in the bundle (its metafile says which)
// and the packages whose native addons ship beside it, each with its own
// licence file, then esbuild's legal comments.
// inputs: the source paths of esbuild's metafiles.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const LICENSE_FILE = /^(licen[cs]e|copying|notice)(\.(md|txt))?$/i;

/** node_modules/a/x.js -> node_modules/a; node_modules/@s/b/node_modules/c/y.js -> .../node_modules/c */
function packageDirOf(input) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

export function collectLicenses(root, inputs, legalComments, nativePackages) {
  const dirs = new Set(nativePackages.map((name) => `node_modules/${name}`));
  for (const input of inputs) {
    const dir = packageDirOf(input);
    if (dir) dirs.add(dir);
  }
  const sections = [...dirs].sort().map((dir) => {
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const files = readdirSync(join(root, dir)).filter((name) => LICENSE_FILE.test(name)).sort();
    if (files.length === 0) throw new Error(`licenses: ${manifest.name} has no licence file; add its text to bundle/licenses.mjs`);
    const texts = files.map((name) => readFileSync(join(root, dir, name), 'utf8').trim());
    return `==> ${manifest.name}@${manifest.version} (${manifest.license}) <==\n\n${texts.join('\n\n')}\n`;
  });
  const legal = legalComments.trim() ? `==> Legal comments kept from the bundled sources <==\n\n${legalComments.trim()}\n` : '';
  return [`Third-party software in this trustlink artifact (${dirs.size} npm packages).\n`, ...sections, legal].filter(Boolean).join('\n');
}
