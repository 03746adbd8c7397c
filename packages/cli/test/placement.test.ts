// Placement of `gpus: auto` replicas, from `nvidia-smi` output captured on an H200 (see
// packages/docker-ops/test-fixtures/nvidia-smi/README.md), as an eight-GPU box prints it: a
// stand-in `nvidia-smi` first on serve's PATH prints those rows. This machine has no GPU, so
// Docker cannot start the replicas: `serve plan` shows where each would go and why, and `serve
// up` refuses, before anything changes, a replica that fits nowhere.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, createProject, docker, type Project } from './_harness.js';

const FIXTURES = new URL('../../docker-ops/test-fixtures/nvidia-smi/', import.meta.url);

describe('gpus: auto replicas placed on captured nvidia-smi output', () => {
  let p: Project;
  let bin: string;
  const env = () => ({ PATH: `${bin}:${process.env.PATH}` });
  const models = (replicas: number) =>
    [
      `network: ${p.network}`,
      'gateway: {mode: none}',
      'monitoring: {mode: none}',
      'models:',
      `  - ${p.prefix}-fixed:`,
      '      model: test/fixed',
      `      image: ${STANDIN}`,
      '      pull: never',
      '      gpus: [0]',
      '      gpu-memory-utilization: 0.5',
      `  - ${p.prefix}-big:`,
      '      model: test/big',
      `      image: ${STANDIN}`,
      '      pull: never',
      '      gpus: auto',
      '      tensor-parallel-size: 2',
      `      replicas: ${replicas}`,
    ].join('\n') + '\n';

  beforeAll(() => {
    p = createProject('placement');
    bin = mkdtempSync(join(tmpdir(), 'inferstack-nvidia-smi-'));
    // GPU 1 as captured while a process held ~29 GiB; the others idle.
    const [header, idle] = readFileSync(new URL('query-gpu-idle.csv', FIXTURES), 'utf8').trim().split('\n');
    const busy = readFileSync(new URL('query-gpu-busy.csv', FIXTURES), 'utf8').trim().split('\n')[1]!;
    const rows = Array.from({ length: 8 }, (_, i) => (i === 1 ? busy : idle!).replace(/^0,/, `${i},`));
    writeFileSync(join(bin, 'gpus.csv'), [header, ...rows].join('\n') + '\n');
    writeFileSync(join(bin, 'nvidia-smi'), `#!/bin/sh\ncat "${join(bin, 'gpus.csv')}"\n`);
    chmodSync(join(bin, 'nvidia-smi'), 0o755);
  });
  afterAll(async () => {
    rmSync(bin, { recursive: true, force: true });
    await p.cleanup();
  });

  it('plan puts each replica on two GPUs with room, beside the fixed model and the busy GPU, and says why', async () => {
    p.writeModels(models(3));
    const plan = await p.serve(['plan', '--json'], { env: env() });
    expect(plan.code, plan.stderr).toBe(0);
    const json = JSON.parse(plan.stdout) as { plan: Array<{ model: string; replica?: number; gpus?: number[]; placement?: string }>; gpus: { after: Array<{ gpu: string; sum: number }> } };
    const rows = json.plan;
    // The GPU map counts each placed replica on its GPUs.
    expect(json.gpus.after.map((l) => [l.gpu, l.sum])).toEqual([['0', 0.5], ['2', 0.9], ['3', 0.9], ['4', 0.9], ['5', 0.9], ['6', 0.9], ['7', 0.9]]);
    const big = rows.filter((r) => r.model === `${p.prefix}-big`);
    expect(big.map((r) => [r.replica ?? 0, r.gpus])).toEqual([
      [0, [2, 3]],
      [1, [4, 5]],
      [2, [6, 7]],
    ]);
    expect(big[0]?.placement).toMatch(/GPUs 2, 3 of local/);
    const text = await p.serve(['plan'], { env: env() });
    expect(text.stdout).toMatch(new RegExp(`${p.prefix}-big#2 +create +6,7 `));
  });

  it('up refuses a replica that fits nowhere, naming what each GPU lacked, and creates nothing', async () => {
    p.writeModels(models(4));
    const plan = await p.serve(['plan'], { env: env() });
    expect(plan.stderr).toMatch(/big#3: no host has 2 GPUs.*serve up refuses to start it/);
    const up = await p.serve(['up'], { env: env() });
    expect(up.code).toBe(2);
    expect(up.stderr).toMatch(/some replicas fit on no GPU; nothing was started/);
    expect(up.stderr).toMatch(/big#3/);
    const made = await docker.listContainers({ all: true, filters: { label: [p.labels, 'inference.managed=true'] } });
    expect(made.filter((c) => c.Names.some((n) => n.includes(p.prefix)))).toEqual([]);
  });
});
