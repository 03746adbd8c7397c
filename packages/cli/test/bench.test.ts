import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, createProject, freePort, removeByLabel, type Project } from './_harness.js';

const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const MASTER_KEY = 'sk-test-master-8c2f4a6e1b';

describe('serve bench through a managed LiteLLM gateway (real LiteLLM, the vLLM stand-in)', () => {
  let p: Project;
  let port: number;
  const gatewayName = () => `${p.prefix}-litellm`;
  const key = () => `${p.prefix}-m`;

  beforeAll(async () => {
    port = await freePort();
    p = createProject('bench', { LITELLM_MASTER_KEY: MASTER_KEY });
    p.writeModels(
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
        `  - ${key()}:`,
        `      model: test/m`,
        '      gpus: none',
        `      served-model-name: served-${key()}`,
      ].join('\n') + '\n',
    );
  });
  afterAll(async () => {
    await removeByLabel(p.labels, (name) => name === gatewayName());
    await p.cleanup();
  });

  it('up, 20 requests 4 at a time: all answered, each counted for the container that answered; down', async () => {
    const up = await p.serve(['up'], { timeoutMs: 240_000 });
    expect(up.code, up.stderr).toBe(0);

    const r = await p.serve(['bench', key(), '--requests', '20', '--concurrency', '4', '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(MASTER_KEY);
    const result = JSON.parse(r.stdout) as {
      model: string;
      servedModelName: string;
      requests: number;
      concurrency: number;
      ok: number;
      failed: number;
      errors: unknown[];
      outputTokensPerSecond: number;
      ttftMs: { p50: number | null; p95: number | null; p99: number | null };
      latencyMs: { p50: number | null; p95: number | null; p99: number | null };
      replicas: Array<{ name: string; replica: number | null; requests: number }>;
    };
    expect(result).toMatchObject({ model: key(), servedModelName: `served-${key()}`, requests: 20, concurrency: 4, ok: 20, failed: 0, errors: [] });
    expect(result.outputTokensPerSecond).toBeGreaterThan(0);
    expect(result.ttftMs.p50).toBeGreaterThan(0);
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50!);
    expect(result.latencyMs.p50).toBeGreaterThanOrEqual(result.ttftMs.p50!);
    expect(result.replicas.reduce((sum, x) => sum + x.requests, 0)).toBe(20);
    // The gateway named the deployment that answered: the model's one container.
    expect(result.replicas).toEqual([{ name: `inference-${key()}`, replica: 0, requests: 20 }]);

    // The table: the same run in words (the first model is the default).
    const text = await p.serve(['bench', '--requests', '4'], { timeoutMs: 120_000 });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^requests\s+4 ok, 0 failed$/m);
    expect(text.stdout).toMatch(new RegExp(`^inference-${key()}\\s+0\\s+4$`, 'm'));

    // A model the config does not have: refused before anything is sent, naming the known ones.
    const unknown = await p.serve(['bench', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown model "nope"');
    expect(unknown.stderr).toContain(key());

    const down = await p.serve(['down', '--all'], { timeoutMs: 240_000 });
    expect(down.code, down.stderr).toBe(0);

    // No gateway any more: one clear error, no request sent.
    const gone = await p.serve(['bench', '--requests', '1']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/the gateway at http:\/\/127\.0\.0\.1:\d+ does not answer/);
    expect(gone.stderr).not.toContain(MASTER_KEY);
  });
});
