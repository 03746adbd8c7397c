// The built bin's chunks, read as esbuild wrote them: `serve status`, a no-op `serve up` and
// `serve plan` get their config from the cache of parsed configs, so the chunks they load before
// they run (the command's chunk and everything it imports statically) must not hold the parser of
// models.yaml (yaml, valibot): it is loaded only when a config is parsed. A value imported from a
// library's index by a command pulls that whole index in (see tsup.config.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from './_harness.js';

const dist = dirname(CLI);
const chunks = new Map(readdirSync(dist).filter((f) => f.endsWith('.js')).map((f) => [f, readFileSync(join(dist, f), 'utf8')]));
const staticImports = (text: string) => [...text.matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g)].map((m) => m[1]!);

/** The chunk of `command` and all it imports statically. */
function loadedBefore(command: string): string[] {
  const entry = [...chunks.keys()].find((f) => new RegExp(`^${command}-[A-Z0-9]+\\.js$`).test(f));
  expect(entry, `the chunk of ${command} in ${dist}`).toBeDefined();
  const seen = new Set<string>();
  const todo = [entry!];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f) || !chunks.has(f)) continue;
    seen.add(f);
    todo.push(...staticImports(chunks.get(f)!));
  }
  return [...seen];
}

/** The chunks that hold the parser: yaml's (where its error class is defined) or valibot's (its schemas' vendor name). */
const parser = (files: string[]) => files.filter((f) => /YAMLParseError\s*=\s*class\b|class YAMLParseError\b|vendor:\s*"valibot"/.test(chunks.get(f)!));

describe('the bundled bin', () => {
  it('loads no parser of models.yaml with status, up or plan before the config is parsed', () => {
    for (const command of ['status', 'up', 'plan']) expect(parser(loadedBefore(command)), command).toEqual([]);
  });

  it('has the parser in chunks of their own, for the commands that parse (so the check above can fail)', () => {
    expect(parser([...chunks.keys()]).length).toBe(2);
  });
});
