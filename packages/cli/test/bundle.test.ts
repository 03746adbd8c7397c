// The bin's program is one CommonJS bundle (dist/cli.cjs): a module reached only through a
// dynamic import is evaluated when it is first imported (each command, the parser of
// models.yaml). `serve status`, `serve plan` and a no-op `serve up` get their config from the
// cache of parsed configs, so their runs must not evaluate the parser (valibot and the config's
// parse-config.ts; status and plan not yaml either: a no-op up reaches yaml through the gateway's
// config-file code). A value imported from a library's index by a command pulls that whole index
// in (see tsup.config.ts). V8's precise coverage of real runs says which module bodies ran:
// esbuild names each module's body after its source file.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, createProject, type Project } from './_harness.js';

interface Coverage {
  result: Array<{ url: string; functions: Array<{ functionName: string; ranges: Array<{ count: number }> }> }>;
}

/** The parser's modules, by the names esbuild gives their bodies. */
const PARSER = /(^|\/)valibot\/dist\/|config\/src\/parse-config\.ts$/;
const YAML = /(^|\/)yaml\/dist\/index\.js$/;

describe('the bundled bin', () => {
  let p: Project;
  let home: string;

  /** Run `serve ARGS` under V8 coverage; the modules of dist/cli.cjs whose bodies ran. */
  async function evaluated(args: string[]): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'inferstack-coverage-'));
    try {
      // No code cache: the coverage is of this run's own compile. Its own cache of parsed configs.
      const r = await p.serve(args, { env: { NODE_V8_COVERAGE: dir, INFERSTACK_CODE_CACHE: '0', XDG_CACHE_HOME: home } });
      expect(r.code, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      const files = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Coverage);
      const bundle = files.flatMap((f) => f.result).filter((s) => s.url.endsWith('/dist/cli.cjs'));
      expect(bundle.length, 'the coverage of dist/cli.cjs').toBe(1);
      return bundle[0]!.functions.filter((f) => (f.ranges[0]?.count ?? 0) > 0).map((f) => f.functionName);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  beforeAll(() => {
    p = createProject('bundle');
    home = mkdtempSync(join(tmpdir(), 'inferstack-bundle-cache-'));
    p.writeModels(
      [`network: ${p.network}`, 'gateway: {mode: none}', 'monitoring: {mode: none}', `defaults: {image: "${STANDIN}", pull: never, env: {STANDIN_LOAD_DELAY: "0"}}`, 'models:', `  - ${p.prefix}-a: {model: test/a, gpus: none}`, ''].join('\n'),
    );
  });
  afterAll(async () => {
    await p.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  it('evaluates the parser when it parses (so the checks below can fail)', async () => {
    const ran = await evaluated(['plan']);
    expect(ran.filter((f) => PARSER.test(f)).length).toBeGreaterThan(0);
    expect(ran.filter((f) => YAML.test(f))).toHaveLength(1);
  });

  it('evaluates no parser of models.yaml with status, plan or a no-op up once the config is cached', async () => {
    for (const command of ['status', 'plan']) {
      const ran = await evaluated([command]);
      expect(ran.filter((f) => PARSER.test(f) || YAML.test(f)), command).toEqual([]);
    }
    expect((await p.serve(['up'])).code).toBe(0);
    const ran = await evaluated(['up']);
    expect(ran.filter((f) => PARSER.test(f)), 'a no-op up').toEqual([]);
  });
});
