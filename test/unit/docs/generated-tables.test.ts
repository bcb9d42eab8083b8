/**
 * Docs that cannot drift: the tables that restate code (exit statuses, error
 * codes, configuration keys) must be what `npm run docs` writes, and every
 * link between the README and docs/ must reach a page and heading that exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedPages, GENERATED_TABLES, withTable } from '../../../bundle/docs-tables.js';
import { knownErrorCodes } from '../../../src/errors.js';
import { REPO } from '../../helpers/paths.js';

const read = (file: string): string => readFileSync(join(REPO, file), 'utf8');

describe('generated tables in docs/', () => {
  for (const page of generatedPages(read)) {
    it(`${page.file} holds what npm run docs writes`, () => {
      expect(page.current, `${page.file} differs from what the generator writes: run \`npm run docs\` and commit the result`).toBe(page.expected);
    });
  }

  it('list every error code', () => {
    const errors = read('docs/errors.md');
    expect(knownErrorCodes().filter((code) => !errors.includes(`| \`${code}\` |`))).toEqual([]);
  });

  it('are found between their markers, and a stale table is replaced', () => {
    const generated = GENERATED_TABLES[0]!;
    const page = read(generated.file);
    const stale = page.replace(generated.render(), '| stale |');
    expect(stale).not.toBe(page);
    expect(withTable(stale, generated)).toBe(withTable(page, generated));
    expect(() => withTable('no markers here', generated)).toThrow(/markers/);
  });
});

/** The README and every page of docs/. */
const PAGES = ['README.md', ...readdirSync(join(REPO, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of outsideCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (heading as string).trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return found;
}

/** Links to Markdown files of the repo, and to headings, outside code blocks. */
function localLinks(file: string): Array<{ target: string; anchor: string | undefined }> {
  const outsideCode = read(file).replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...outsideCode.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] as string)
    .filter((link) => !/^[a-z]+:/i.test(link))
    .map((link) => {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      return { target: path === '' ? file : relative(REPO, resolve(dirname(join(REPO, file)), path)), anchor };
    });
}

describe('links in the README and docs/', () => {
  for (const file of PAGES) {
    it(`${file}: every local link reaches a file, and a heading when it names one`, () => {
      const broken = localLinks(file).flatMap(({ target, anchor }) => {
        if (!existsSync(join(REPO, target))) return [`${target} does not exist`];
        if (anchor !== undefined && target.endsWith('.md') && !anchors(read(target)).has(anchor)) return [`${target} has no heading #${anchor}`];
        return [];
      });
      expect(broken, `${file} links to what is not there`).toEqual([]);
    });
  }

  it('reach every page of docs/ from the README', () => {
    const linked = new Set(localLinks('README.md').map(({ target }) => target));
    expect(PAGES.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });
});
