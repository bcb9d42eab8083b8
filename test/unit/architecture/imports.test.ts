/**
 * The folders of src/ import one another in one direction only, as
 * shared/design.md draws it: cli → config → (selftest, provision, agent) →
 * (credentials, connection and the agent's other rooms) → identity → pkcs11
 * → the native addons. A cycle between folders fails here, with the files.
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

/** One cycle per strongly connected group of folders, as a path found by walking its edges. */
function folderCycles(edges: Map<string, Map<string, string[]>>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const walk = (folder: string, path: string[]): void => {
    const back = path.indexOf(folder);
    if (back !== -1) {
      cycles.push(path.slice(back));
      return;
    }
    if (done.has(folder)) return;
    for (const next of edges.get(folder)?.keys() ?? []) walk(next, [...path, folder]);
    done.add(folder);
  };
  for (const folder of edges.keys()) walk(folder, []);
  return cycles;
}

describe('src/ folder imports', () => {
  it('have no cycles, of two folders or more', () => {
    const edges = folderEdges();
    expect(folderCycles(edges).map((cycle) => cycle.map((folder, at) => {
      const next = cycle[(at + 1) % cycle.length] as string;
      return `${folder} → ${next} (${edges.get(folder)?.get(next)?.join(', ')})`;
    }).join(' → '))).toEqual([]);
  });

  it('keep the lowest layers free of the ones above them', () => {
    const edges = folderEdges();
    const above: Record<string, string[]> = {
      pkcs11: ['identity', 'connection', 'credentials', 'agent', 'selftest', 'provision', 'cli'],
      identity: ['connection', 'credentials', 'agent', 'selftest', 'provision', 'cli'],
      crt: ['identity', 'pkcs11', 'connection', 'credentials', 'agent', 'selftest', 'provision', 'cli'],
      der: ['identity', 'pkcs11', 'crt', 'connection', 'credentials', 'agent', 'selftest', 'provision', 'cli'],
    };
    const wrong = Object.entries(above).flatMap(([low, highs]) =>
      highs.filter((high) => edges.get(low)?.has(high)).map((high) => `${low} → ${high}: ${edges.get(low)?.get(high)?.join(', ')}`));
    expect(wrong).toEqual([]);
  });
});
