/**
 * The folders of src/ import one another in one direction only, as
 * shared/design.md draws it: cli → config → (selftest, provision, agent) →
 * (credentials, connection and the agent's other rooms) → identity → pkcs11
 * → the native addons. A cycle between two folders fails here, with the files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../helpers/paths.js';

const SRC = join(REPO, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const folderOf = (file: string): string => {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 ? '(root)' : (parts[0] as string);
};

/** folder → folder → the importing files, from static and dynamic relative imports. */
function folderEdges(): Map<string, Map<string, string[]>> {
  const edges = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles(SRC)) {
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import\s*\(?)\s*'(\.\.?\/[^']+)'/g)) {
      const target = folderOf(resolve(dirname(file), match[1] as string));
      const source = folderOf(file);
      if (target === source) continue;
      const targets = edges.get(source) ?? new Map<string, string[]>();
      targets.set(target, [...(targets.get(target) ?? []), relative(SRC, file)]);
      edges.set(source, targets);
    }
  }
  return edges;
}

describe('src/ folder imports', () => {
  it('have no cycles: no two folders import each other', () => {
    const edges = folderEdges();
    const twoWay: string[] = [];
    for (const [from, targets] of edges) {
      for (const [to, files] of targets) {
        const back = edges.get(to)?.get(from);
        if (back !== undefined && from < to) twoWay.push(`${from} ⇄ ${to}: ${files.join(', ')} / ${back.join(', ')}`);
      }
    }
    expect(twoWay).toEqual([]);
  });

  it('keep the lowest layers free of the ones above them', () => {
    const edges = folderEdges();
    const above: Record<string, string[]> = {
      pkcs11: ['identity', 'connection', 'credentials', 'agent', 'selftest', 'provision', 'cli'],
      identity: ['connection', 'credentials', 'agent', 'selftest', 'provision', 'cli'],
      crt: ['identity', 'pkcs11', 'connection', 'credentials', 'agent', 'selftest', 'provision', 'cli'],
    };
    const wrong = Object.entries(above).flatMap(([low, highs]) =>
      highs.filter((high) => edges.get(low)?.has(high)).map((high) => `${low} → ${high}: ${edges.get(low)?.get(high)?.join(', ')}`));
    expect(wrong).toEqual([]);
  });
});
