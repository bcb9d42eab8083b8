/**
 * npm run docs: rewrites the generated tables of docs/ (bundle/docs-tables.ts)
 * from the code, and says which pages changed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedPages } from './docs-tables.js';

const root = join(import.meta.dirname, '..');
for (const page of generatedPages((file) => readFileSync(join(root, file), 'utf8'))) {
  if (page.current === page.expected) continue;
  writeFileSync(join(root, page.file), page.expected);
  console.log(`docs: rewrote the generated tables of ${page.file}`);
}
