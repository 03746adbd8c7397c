import { describe, expect, it } from 'vitest';
import { fakeContainer, fakeSpec } from './_fixtures.js';
import { modelLabels } from './labels.js';
import { gpuMap } from './gpu-map.js';
import { planModels } from './plan.js';
import { replicaContainerName, replicaIndices, replicaLabel, replicaSpecs } from './replicas.js';
import { modelStatuses } from './status.js';

// The real spec hash leaves the replica count out (config's specHashInput): so do these.
const fixed = (n: number) => fakeSpec('a', { gpus: { kind: 'none' }, replicas: { min: n, max: n }, specHash: 'same-spec' });
const scaling = (min: number, max: number) => fakeSpec('a', { gpus: { kind: 'none' }, replicas: { min, max, downAfterMs: 300_000 }, specHash: 'same-spec' });
const summary = (changes: ReturnType<typeof planModels>) => changes.map((c) => `${c.action}:${replicaLabel(c.key, c.replica)}${c.action === 'remove' ? `:${c.reason}` : ''}`);

describe('replicas', () => {
  it('names replica i of a model <container>-r<i>; the first keeps the model\'s name', () => {
    expect(replicaContainerName('inference-qwen', 0)).toBe('inference-qwen');
    expect(replicaContainerName('inference-qwen', 2)).toBe('inference-qwen-r2');
    const specs = replicaSpecs(fixed(3), [0, 1, 2]);
    expect(specs.map((s) => [s.containerName, s.replica])).toEqual([
      ['inference-a', undefined],
      ['inference-a-r1', 1],
      ['inference-a-r2', 2],
    ]);
    // One spec: the same hash, so a replica drifts exactly when the model does.
    expect(new Set(specs.map((s) => s.specHash)).size).toBe(1);
  });

  it('a fixed count is 0 … n-1; a scaling model keeps the replicas that run, and at least one', () => {
    expect(replicaIndices(fixed(3), [5])).toEqual([0, 1, 2]);
    expect(replicaIndices(scaling(1, 4), [])).toEqual([0]);
    expect(replicaIndices(scaling(1, 4), [0, 2])).toEqual([0, 2]);
    expect(replicaIndices(scaling(2, 4), [2])).toEqual([0, 2]);
    // Beyond max: not kept (the plan removes it).
    expect(replicaIndices(scaling(1, 2), [0, 3])).toEqual([0]);
    expect(replicaIndices(scaling(0, 2), [])).toEqual([0]);
  });

  it('plans each replica as a model of its own: create the missing ones, keep the others', () => {
    const spec = fixed(3);
    const [r0, r1, r2] = replicaSpecs(spec, [0, 1, 2]);
    const running = [fakeContainer(r0!), fakeContainer(r1!, { id: 'id-a-1' })];
    expect(running.map((c) => c.replica)).toEqual([0, 1]);
    expect(summary(planModels([r0!, r1!, r2!], running))).toEqual(['keep:a', 'keep:a#1', 'create:a#2']);
  });

  it('removes the replicas beyond the count as scaled-down, whatever removeOrphans says', () => {
    const three = replicaSpecs(fixed(3), [0, 1, 2]);
    const running = three.map((s, i) => fakeContainer(s, { id: `id-a-${i}` }));
    const one = replicaSpecs(fixed(1), [0]);
    expect(summary(planModels(one, running, { removeOrphans: false }))).toEqual(['keep:a', 'remove:a#1:scaled-down', 'remove:a#2:scaled-down']);
  });

  it('recreates every replica of a changed model (apply replaces them one at a time)', () => {
    const before = replicaSpecs(fixed(2), [0, 1]);
    const running = before.map((s, i) => fakeContainer(s, { id: `id-a-${i}` }));
    const changed = replicaSpecs(fakeSpec('a', { gpus: { kind: 'none' }, replicas: { min: 2, max: 2 }, vllmArgs: ['--max-model-len', '8192'] }), [0, 1]);
    expect(summary(planModels(changed, running))).toEqual(['recreate:a', 'recreate:a#1']);
  });

  it('containers made before replicas (no label) are the first replica', () => {
    const spec = fixed(2);
    const labels = Object.fromEntries(Object.entries(modelLabels(spec)).filter(([k]) => k !== 'inferstack.replica'));
    const old = fakeContainer(spec, { labels });
    expect(old.replica).toBe(0);
    expect(summary(planModels(replicaSpecs(spec, [0, 1]), [old]))).toEqual(['keep:a', 'create:a#1']);
  });

  it('status has a row per replica, grouped under the model, and shows a replica beyond the count as an orphan', () => {
    const spec = fixed(2);
    const specs = replicaSpecs(fixed(3), [0, 1, 2]);
    const running = specs.map((s, i) => fakeContainer(s, { id: `id-a-${i}` }));
    const rows = modelStatuses([spec], running);
    expect(rows.map((r) => [r.containerName, r.replica, r.sync])).toEqual([
      ['inference-a', 0, 'in-sync'],
      ['inference-a-r1', 1, 'in-sync'],
      ['inference-a-r2', 2, 'orphan'],
    ]);
    // A model with one replica has no replica column.
    expect(modelStatuses([fakeSpec('b')], [fakeContainer(fakeSpec('b'))])[0]?.replica).toBeUndefined();
  });
});

describe('replicas sharing a GPU', () => {
  it('count each replica in the GPU map and in whether a rolling replacement fits', () => {
    const spec = (args: string[]) => fakeSpec('a', { gpus: { kind: 'devices', indices: [0] }, gpuMemoryUtilization: 0.3, replicas: { min: 3, max: 3 }, vllmArgs: args });
    const running = replicaSpecs(spec(['--max-model-len', '4096']), [0, 1, 2]).map((s, i) => fakeContainer(s, { id: `id-a-${i}` }));
    const changed = planModels(replicaSpecs(spec(['--max-model-len', '8192']), [0, 1, 2]), running);
    // Three replicas hold 0.9 of GPU 0: a fourth container (the new one of a rolling replacement) would need 1.2.
    expect(changed.map((c) => (c.action === 'recreate' ? c.strategy : c.action))).toEqual(['in-place', 'in-place', 'in-place']);
    const first = changed[0];
    expect(first?.action === 'recreate' && first.why).toMatch(/GPU 0 cannot hold the old and the new container at once \(1\.20/);
    expect(gpuMap(changed).after).toEqual([{ gpu: '0', models: [{ key: 'a', utilization: 0.3 }, { key: 'a#1', utilization: 0.3 }, { key: 'a#2', utilization: 0.3 }], sum: 0.9 }]);
  });
});
