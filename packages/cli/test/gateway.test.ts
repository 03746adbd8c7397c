import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, createProject, docker, removeByLabel, type Project, freePort } from './_harness.js';

const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const MASTER_KEY = 'sk-test-master-5b7e0c1d9f';

describe('serve with a managed LiteLLM gateway (config-file mode, real LiteLLM)', () => {
  let p: Project;
  let port: number;
  const gatewayName = () => `${p.prefix}-litellm`;

  const models = (keys: string[]) =>
    [
      `network: ${p.network}`,
      'gateway:',
      '  mode: managed',
      `  image: ${LITELLM}`,
      `  container-name: ${gatewayName()}`,
      `  port: ${port}`,
      'monitoring:',
      '  mode: none',
      'defaults:',
      `  image: ${STANDIN}`,
      '  pull: never',
      '  env: {STANDIN_LOAD_DELAY: "1"}',
      'models:',
      ...keys.flatMap((k) => [`  - ${p.prefix}-${k}:`, `      model: test/${k}`, '      gpus: none', `      served-model-name: served-${p.prefix}-${k}`]),
    ].join('\n') + '\n';

  const chat = async (model: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'who are you?' }] }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: r.status, body: (await r.json()) as { choices?: Array<{ message: { content: string } }> } };
  };
  const listed = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` }, signal: AbortSignal.timeout(10_000) });
    return ((await r.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id).sort();
  };

  beforeAll(async () => {
    port = await freePort();
    p = createProject('gateway', { LITELLM_MASTER_KEY: MASTER_KEY });
    // A model the user added by hand: it must survive every sync.
    mkdirSync(join(p.dir, 'litellm'), { recursive: true });
    writeFileSync(
      join(p.dir, 'litellm', 'config.yaml'),
      [
        '# my gateway',
        'model_list:',
        '  - model_name: hand-made',
        '    litellm_params:',
        '      model: hosted_vllm/hand',
        '      api_base: http://hand-made-backend:8000/v1',
        'general_settings:',
        '  master_key: os.environ/LITELLM_MASTER_KEY',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await removeByLabel(p.labels, (name) => name === gatewayName());
    await p.cleanup();
  });

  it('up registers both models once ready, and a chat completion reaches the right stand-in', async () => {
    p.writeModels(models(['a', 'b']));
    const r = await p.serve(['up'], { timeoutMs: 240_000 });
    expect(r.stderr).toMatch(/2 model\(s\) routed/);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(MASTER_KEY);
    expect(await listed()).toEqual(['hand-made', `served-${p.prefix}-a`, `served-${p.prefix}-b`]);
    for (const k of ['a', 'b']) {
      const res = await chat(`served-${p.prefix}-${k}`);
      expect(res.status).toBe(200);
      expect(res.body.choices?.[0]?.message.content).toContain(`served-${p.prefix}-${k}`);
    }
    const gw = await docker.getContainer(gatewayName()).inspect();
    expect(JSON.stringify(gw.Config.Labels)).not.toContain(MASTER_KEY);
    expect(gw.HostConfig.PortBindings?.['4000/tcp']?.[0]?.HostIp).toBe('127.0.0.1');
  });

  it('status shows which models the gateway routes to', async () => {
    const r = await p.serve(['status', '--json']);
    // Other stacks' model containers on the same daemon show up as orphans: look at ours.
    const rows = (JSON.parse(r.stdout).models as Array<{ model: string; routed: boolean }>).filter((x) => x.model.startsWith(p.prefix));
    expect(rows.map((x) => x.routed)).toEqual([true, true]);
  });

  it('a second up changes nothing and does not restart the gateway', async () => {
    const before = (await docker.getContainer(gatewayName()).inspect()).State.StartedAt;
    const r = await p.serve(['up']);
    expect(r.code).toBe(0);
    expect((await docker.getContainer(gatewayName()).inspect()).State.StartedAt).toBe(before);
  });

  it('down of one model deregisters it first; the hand-made entry survives; the gateway stays', async () => {
    const r = await p.serve(['down', `${p.prefix}-a`], { timeoutMs: 240_000 });
    expect(r.code).toBe(0);
    expect(await listed()).toEqual(['hand-made', `served-${p.prefix}-b`]);
    const file = readFileSync(join(p.dir, 'litellm', 'config.yaml'), 'utf8');
    expect(file).toContain('# my gateway');
    expect(file).toContain('model_name: hand-made');
    expect(file).not.toContain(MASTER_KEY);
    expect((await docker.getContainer(gatewayName()).inspect()).State.Running).toBe(true);
  });

  it('a gateway that cannot be reached is exit 1 with a clear error, containers untouched', async () => {
    await docker.getContainer(gatewayName()).stop({ t: 1 });
    const r = await p.serve(['sync'], { env: { INFERSTACK_GATEWAY_TIMEOUT_MS: '2000' }, timeoutMs: 240_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gateway sync failed/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const b = await docker.listContainers({ filters: { name: [`inference-${p.prefix}-b`] } });
    expect(b[0]?.State).toBe('running');
    // up repairs it: the gateway is started again, a (still in the config) comes back, both routed.
    const up = await p.serve(['up'], { timeoutMs: 240_000 });
    expect(up.code).toBe(0);
    expect(await listed()).toEqual(['hand-made', `served-${p.prefix}-a`, `served-${p.prefix}-b`]);
  });
});
