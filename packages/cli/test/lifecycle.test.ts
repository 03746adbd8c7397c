import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, containersOf, createProject, docker, type Project } from './_harness.js';

function models(p: Project, entries: Record<string, Record<string, unknown>>, defaultsEnv: Record<string, string> = { STANDIN_LOAD_DELAY: '1' }): string {
  const lines = [
    `network: ${p.network}`,
    'gateway:',
    '  mode: none',
    'monitoring:',
    '  mode: none',
    'defaults:',
    `  image: ${STANDIN}`,
    '  pull: never',
    '  env:',
    ...Object.entries(defaultsEnv).map(([k, v]) => `    ${k}: "${v}"`),
    'models:',
  ];
  for (const [key, fields] of Object.entries(entries)) {
    lines.push(`  - ${p.prefix}-${key}:`);
    for (const [k, v] of Object.entries(fields)) lines.push(`      ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return lines.join('\n') + '\n';
}

describe('serve up / plan / stop / down / status against a real daemon', () => {
  let p: Project;
  const ids = async () => new Map([...(await containersOf(p))].map(([k, c]) => [k.slice(p.prefix.length + 1), c.Id]));
  const three = () => ({
    a: { model: 'test/a', gpus: 'none' },
    b: { model: 'test/b', gpus: 'none', 'max-model-len': 4096 },
    c: { model: 'test/c', gpus: 'none', 'served-model-name': 'c-served' },
  });

  beforeAll(() => {
    p = createProject('lifecycle');
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('brings up three models and waits for each to be ready', async () => {
    p.writeModels(models(p, three()));
    const r = await p.serve(['up']);
    expect(r.stderr).toMatch(/ready in/);
    expect(r.code).toBe(0);
    const cs = await containersOf(p);
    expect([...cs.keys()].sort()).toEqual([`${p.prefix}-a`, `${p.prefix}-b`, `${p.prefix}-c`]);
    for (const c of cs.values()) {
      expect(c.State).toBe('running');
      expect(c.Labels['inferstack.spec-hash']).toMatch(/^[0-9a-f]{16}$/);
      expect(JSON.stringify(c.Labels)).not.toContain('hf_testtoken');
    }
    const inspect = await docker.getContainer(cs.get(`${p.prefix}-b`)!.Id).inspect();
    expect(inspect.Config.Cmd).toEqual(['test/b', '--port', '8000', '--host', '0.0.0.0', '--max-model-len', '4096']);
    expect(inspect.HostConfig.IpcMode).toBe('host');
    expect(inspect.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(r.stdout + r.stderr).not.toContain('hf_testtoken');
  });

  it('a second up changes nothing and says so', async () => {
    const before = await ids();
    const r = await p.serve(['up']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/nothing to do/);
    expect(await ids()).toEqual(before);
    const plan = await p.serve(['plan', '--exit-code']);
    expect(plan.code).toBe(0);
  });

  it('recreates only the model whose config changed', async () => {
    const before = await ids();
    const changed = three();
    changed.b['max-model-len'] = 8192;
    p.writeModels(models(p, changed));
    const plan = await p.serve(['plan', '--exit-code']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(new RegExp(`${p.prefix}-b\\s+recreate.*changed: args`));
    const r = await p.serve(['up']);
    expect(r.code).toBe(0);
    const after = await ids();
    expect(after.get('a')).toBe(before.get('a'));
    expect(after.get('c')).toBe(before.get('c'));
    expect(after.get('b')).not.toBe(before.get('b'));
  });

  it('status shows every model in sync with JSON output', async () => {
    const r = await p.serve(['status', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout).models as Array<{ model: string; state: string; sync: string }>;
    expect(rows.map((x) => [x.model, x.state, x.sync])).toEqual([
      [`${p.prefix}-a`, 'running', 'in-sync'],
      [`${p.prefix}-b`, 'running', 'in-sync'],
      [`${p.prefix}-c`, 'running', 'in-sync'],
    ]);
  });

  it('removes a model that left the config', async () => {
    const two = three() as Partial<ReturnType<typeof three>>;
    delete two.c;
    const changed = { ...two, b: { ...two.b!, 'max-model-len': 8192 } };
    p.writeModels(models(p, changed as Record<string, Record<string, unknown>>));
    const r = await p.serve(['up']);
    expect(r.code).toBe(0);
    expect([...(await ids()).keys()].sort()).toEqual(['a', 'b']);
  });

  it('stop keeps the container, up starts it again unchanged, down removes', async () => {
    const before = await ids();
    expect((await p.serve(['stop', `${p.prefix}-a`])).code).toBe(0);
    expect((await containersOf(p)).get(`${p.prefix}-a`)?.State).toBe('exited');
    const plan = await p.serve(['plan']);
    expect(plan.stdout).toMatch(/stopped, unchanged → start/);
    expect((await p.serve(['up'])).code).toBe(0);
    expect((await ids()).get('a')).toBe(before.get('a'));
    expect((await containersOf(p)).get(`${p.prefix}-a`)?.State).toBe('running');

    expect((await p.serve(['down', `${p.prefix}-a`])).code).toBe(0);
    expect([...(await ids()).keys()]).toEqual(['b']);
    const bad = await p.serve(['stop', 'no-such-model']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no model named "no-such-model"/);
    expect((await p.serve(['down'])).code).toBe(0);
    expect((await containersOf(p)).size).toBe(0);
  });

  it('bad input is exit 2 and changes nothing', async () => {
    p.writeModels('models:\n  - bad name:\n      model: x\n');
    const r = await p.serve(['up']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\.yaml:2:/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await containersOf(p)).size).toBe(0);
    const flag = await p.serve(['up', '--no-such-flag']);
    expect(flag.code).toBe(2);
  });
});

describe('failures are diagnosed', () => {
  let p: Project;
  beforeAll(() => {
    p = createProject('failures');
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('gives the right advice for three different vLLM errors and exits 1', async () => {
    p.writeModels(
      models(
        p,
        {
          kv: { model: 'test/kv', gpus: 'none', env: { STANDIN_FAIL: 'kv-cache' } },
          gated: { model: 'meta-llama/gated-model', gpus: 'none', env: { STANDIN_FAIL: 'gated' } },
          flag: { model: 'test/flag', gpus: 'none', 'no-such-vllm-flag': true },
          ok: { model: 'test/ok', gpus: 'none' },
        },
        { STANDIN_LOAD_DELAY: '0' },
      ),
    );
    const r = await p.serve(['up', '--json']);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as { models: Array<{ model: string; outcome: string; error?: { cause?: string; advice?: string[] } }> };
    const by = Object.fromEntries(result.models.map((m) => [m.model.slice(p.prefix.length + 1), m]));
    expect(by.ok?.outcome).toBe('done');
    expect(by.kv?.error?.cause).toBe('kv-cache-too-small');
    expect(by.kv?.error?.advice?.join(' ')).toMatch(/max-model-len: \d+/);
    expect(by.gated?.error?.cause).toBe('hf-auth');
    expect(by.gated?.error?.advice?.join(' ')).toMatch(/HF_TOKEN/);
    expect(by.flag?.error?.cause).toBe('bad-flag');
    expect(by.flag?.error?.advice?.join(' ')).toMatch(/no-such-vllm-flag/);
    // A failed model is kept (stopped) for its logs, and "serve logs" shows them.
    const logs = await p.serve(['logs', `${p.prefix}-kv`, '--tail', '300']);
    expect(logs.stdout).toMatch(/larger than the available KV cache memory/);
  });
});

describe('adoption of the old tool\'s containers', () => {
  let p: Project;
  beforeAll(() => {
    p = createProject('adopt');
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('recognises a container labelled the reference way and keeps it', async () => {
    const key = `${p.prefix}-old`;
    await docker.createNetwork({ Name: p.network, Labels: { 'inferstack.test': p.labels.split('=')[1]! } });
    const old = await docker.createContainer({
      name: `inference-${key}`,
      Image: STANDIN,
      Cmd: ['test/old', '--port', '8000', '--host', '0.0.0.0'],
      Env: ['STANDIN_LOAD_DELAY=0'],
      Labels: { 'inference.managed': 'true', 'inference.model': key, 'inferstack.test': p.labels.split('=')[1]! },
      // As the config says (the HF cache of .env mounted): nothing differs, so it is kept.
      HostConfig: { NetworkMode: p.network, Binds: [`${join(p.dir, 'hf-cache')}:/root/.cache/huggingface`] },
    });
    await old.start();
    p.writeModels(models(p, { old: { model: 'test/old', gpus: 'none' } }, { STANDIN_LOAD_DELAY: '0' }));
    const plan = await p.serve(['plan', '--json']);
    expect(JSON.parse(plan.stdout).plan).toEqual([{ model: key, action: 'keep', adopted: true, container: `inference-${key}` }]);
    const status = await p.serve(['status', '--json']);
    expect(JSON.parse(status.stdout).models[0]).toMatchObject({ model: key, state: 'running', sync: 'adopted' });
    const up = await p.serve(['up']);
    expect(up.code).toBe(0);
    expect((await containersOf(p)).get(key)?.Id).toBe(old.id);
    // --force-recreate brings it under drift detection.
    expect((await p.serve(['up', '--force-recreate'])).code).toBe(0);
    const now = (await containersOf(p)).get(key)!;
    expect(now.Id).not.toBe(old.id);
    expect(now.Labels['inferstack.spec-hash']).toBeDefined();
  });
});
