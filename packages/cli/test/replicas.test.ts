// Replicas against the real LiteLLM (config-file mode) and vLLM stand-ins: `replicas: 2` runs two
// containers of one spec, each labelled with its index, routed under one model name; requests
// reach both; a changed model is replaced one replica at a time and a smaller count drains and
// removes the extra replica, with clients that never retry losing no request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, createProject, docker, freePort, type Project } from './_harness.js';

const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const MASTER_KEY = 'sk-test-master-replicas-0123456';

interface Answer {
  ok: boolean;
  /** The deployment LiteLLM chose (`inferstack-<address name>`). */
  deployment?: string;
  error?: string;
}

/** Closed-loop clients through the gateway (keep-alive, no retries) until stopped. */
function traffic(port: number, model: string, clients = 4) {
  const done: Answer[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await r.json()) as { choices?: unknown[] };
        const deployment = r.headers.get('x-litellm-model-id') ?? undefined;
        done.push({ ok: r.status === 200 && Array.isArray(body.choices), ...(deployment ? { deployment } : {}), ...(r.status === 200 ? {} : { error: `HTTP ${r.status}` }) });
      } catch (error) {
        done.push({ ok: false, error: `${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? '')}` });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return done;
    },
  };
}

describe('replicas (real LiteLLM, config-file mode)', () => {
  let p: Project;
  let port: number;
  const served = () => `served-${p.prefix}-a`;
  const models = (extra: string[]) =>
    [
      `network: ${p.network}`,
      `gateway: {image: ${LITELLM}, container-name: ${p.prefix}-litellm, port: ${port}}`,
      'monitoring: {mode: none}',
      `defaults: {image: ${STANDIN}, pull: never, env: {STANDIN_LOAD_DELAY: "1", STANDIN_RESPONSE_DELAY_MS: "200"}}`,
      'models:',
      `  - ${p.prefix}-a:`,
      '      model: test/a',
      '      gpus: none',
      `      served-model-name: ${served()}`,
      ...extra.map((l) => `      ${l}`),
    ].join('\n') + '\n';
  const replicasOf = async () =>
    (await docker.listContainers({ all: true, filters: { label: [p.labels, `inference.model=${p.prefix}-a`] } }))
      .map((c) => ({ name: c.Names[0]!.slice(1), replica: c.Labels['inferstack.replica'], state: c.State, address: c.Labels['inferstack.address-name'] }))
      .sort((a, b) => a.name.localeCompare(b.name));

  beforeAll(async () => {
    port = await freePort();
    p = createProject('replicas', { LITELLM_MASTER_KEY: MASTER_KEY });
    p.writeModels(models(['replicas: 2']));
    const up = await p.serve(['up'], { timeoutMs: 240_000 });
    expect(up.code, up.stderr).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await p.serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
    await p.cleanup();
  });

  it('runs two containers labelled with their index, both routed under one name, both answering', async () => {
    const running = await replicasOf();
    expect(running.map((c) => [c.name, c.replica, c.state])).toEqual([
      [`inference-${p.prefix}-a`, '0', 'running'],
      [`inference-${p.prefix}-a-r1`, '1', 'running'],
    ]);
    const status = await p.serve(['status', '--json']);
    const rows = (JSON.parse(status.stdout) as { models: Array<{ model: string; replica?: number; routed: boolean | null }> }).models;
    expect(rows.map((r) => [r.model, r.replica, r.routed])).toEqual([
      [`${p.prefix}-a`, 0, true],
      [`${p.prefix}-a`, 1, true],
    ]);
    const t = traffic(port, served());
    await new Promise((r) => setTimeout(r, 4000));
    const done = await t.stop();
    expect(done.filter((d) => !d.ok)).toEqual([]);
    const by = new Map<string, number>();
    for (const d of done) by.set(d.deployment ?? '?', (by.get(d.deployment ?? '?') ?? 0) + 1);
    // least-busy: each replica's deployment takes part. Not an even share: at equal counts LiteLLM
    // takes the deployment it lists first, so only requests that overlap at a replica reach the
    // other. With answers of 30 ms they seldom did, and one replica got 6 of 92 in a CI run; with
    // the 200 ms answers here (the defaults above) the smaller share was 23-49 % in eight runs here,
    // three of them beside three busy loops. A tenth would need most requests not to overlap.
    expect([...by.keys()].sort()).toEqual(running.map((c) => `inferstack-${c.address}`).sort());
    for (const n of by.values()) expect(n, JSON.stringify([...by])).toBeGreaterThan(done.length / 10);
  }, 60_000);

  it('replaces a changed model one replica at a time and drops no request', async () => {
    p.writeModels(models(['replicas: 2', 'max-model-len: 8192']));
    const t = traffic(port, served());
    const up = await p.serve(['up'], { timeoutMs: 240_000 });
    const done = await t.stop();
    expect(up.code, up.stderr).toBe(0);
    expect(done.length).toBeGreaterThan(20);
    expect(done.filter((d) => !d.ok)).toEqual([]);
    // The second replica's replacement starts once the first one's is done.
    const lines = up.stderr.split('\n');
    const firstDone = lines.findIndex((l) => new RegExp(`${p.prefix}-a  replaced`).test(l));
    const secondStarts = lines.findIndex((l) => new RegExp(`${p.prefix}-a#1  rolling replacement`).test(l));
    expect(firstDone, up.stderr).toBeGreaterThan(-1);
    expect(secondStarts, up.stderr).toBeGreaterThan(firstDone);
    const after = await replicasOf();
    expect(after.map((c) => c.name)).toEqual([`inference-${p.prefix}-a`, `inference-${p.prefix}-a-r1`]);
    for (const c of after) expect((await docker.getContainer(c.name).inspect()).Config.Cmd).toContain('8192');
  }, 300_000);

  it('a smaller count drains and removes the extra replica, dropping no request', async () => {
    p.writeModels(models(['replicas: 1', 'max-model-len: 8192']));
    const plan = await p.serve(['plan']);
    expect(plan.stdout).toMatch(/scaled-down/);
    const t = traffic(port, served());
    const up = await p.serve(['up'], { timeoutMs: 240_000 });
    const done = await t.stop();
    expect(up.code, up.stderr).toBe(0);
    expect(done.filter((d) => !d.ok)).toEqual([]);
    expect((await replicasOf()).map((c) => c.name)).toEqual([`inference-${p.prefix}-a`]);
    expect((await p.serve(['plan', '--exit-code'])).code).toBe(0);
  }, 300_000);
});
