import { describe, expect, it } from 'vitest';
import { fakeContainer, fakeSpec } from './_fixtures.js';
import { gpuMap } from './gpu-map.js';
import { modelLabels } from './labels.js';
import { planModels } from './plan.js';

const on = (gpus: number[]) => ({ kind: 'devices' as const, indices: gpus });

describe('replacement strategy and GPU map', () => {
  it('replaces a changed model rolling when old and new fit on its GPU together, in place when they do not', () => {
    const small = fakeSpec('a', { gpus: on([0]), gpuMemoryUtilization: 0.4 });
    const smallChanged = fakeSpec('a', { gpus: on([0]), gpuMemoryUtilization: 0.4, vllmArgs: ['--max-model-len', '8192'] });
    const [rolling] = planModels([smallChanged], [fakeContainer(small)]);
    expect(rolling).toMatchObject({ action: 'recreate', strategy: 'rolling' });

    const big = fakeSpec('a', { gpus: on([0]), gpuMemoryUtilization: 0.9 });
    const bigChanged = fakeSpec('a', { gpus: on([0]), gpuMemoryUtilization: 0.9, vllmArgs: ['--max-model-len', '8192'] });
    const [inPlace] = planModels([bigChanged], [fakeContainer(big)]);
    expect(inPlace).toMatchObject({ action: 'recreate', strategy: 'in-place' });
    expect(inPlace?.action === 'recreate' && inPlace.why).toBe('GPU 0 cannot hold the old and the new container at once (1.80: old 0.90 + new 0.90)');
  });

  it('counts the other models on the GPU, and moving to a free GPU is rolling', () => {
    const a = fakeSpec('a', { gpus: on([0]), gpuMemoryUtilization: 0.3 });
    const b = fakeSpec('b', { gpus: on([0]), gpuMemoryUtilization: 0.5 });
    const aChanged = fakeSpec('a', { gpus: on([0]), gpuMemoryUtilization: 0.3, vllmArgs: ['--max-model-len', '1'] });
    const changes = planModels([aChanged, b], [fakeContainer(a), fakeContainer(b)]);
    expect(changes[0]).toMatchObject({ strategy: 'in-place', why: expect.stringContaining('1.10: old 0.30 + new 0.30 + others 0.50') });
    const aMoved = fakeSpec('a', { gpus: on([1]), gpuMemoryUtilization: 0.3 });
    expect(planModels([aMoved, b], [fakeContainer(a), fakeContainer(b)])[0]).toMatchObject({ strategy: 'rolling' });
  });

  it('is always rolling without GPUs; a crashed container is replaced in place', () => {
    const cpu = fakeSpec('c', { gpus: { kind: 'none' } });
    const cpuChanged = fakeSpec('c', { gpus: { kind: 'none' }, vllmArgs: ['--max-model-len', '1'] });
    expect(planModels([cpuChanged], [fakeContainer(cpu)])[0]).toMatchObject({ strategy: 'rolling' });
    expect(planModels([cpu], [fakeContainer(cpu, { state: 'restarting' })])[0]).toMatchObject({ reason: 'crashed', strategy: 'in-place' });
  });

  it('maps each GPU before and after, with the sums', () => {
    const a = fakeSpec('a', { gpus: on([0, 1]), gpuMemoryUtilization: 0.5, tensorParallelSize: 2 });
    const b = fakeSpec('b', { gpus: on([1]), gpuMemoryUtilization: 0.4 });
    const changes = planModels([a, b], [fakeContainer(a)]);
    expect(gpuMap(changes)).toEqual({
      before: [
        { gpu: '0', models: [{ key: 'a', utilization: 0.5 }], sum: 0.5 },
        { gpu: '1', models: [{ key: 'a', utilization: 0.5 }], sum: 0.5 },
      ],
      after: [
        { gpu: '0', models: [{ key: 'a', utilization: 0.5 }], sum: 0.5 },
        { gpu: '1', models: [{ key: 'a', utilization: 0.5 }, { key: 'b', utilization: 0.4 }], sum: 0.9 },
      ],
    });
    // `all` covers the host's GPUs when they are known.
    const c = fakeSpec('c', { gpus: { kind: 'all' }, gpuMemoryUtilization: 0.2 });
    expect(gpuMap(planModels([c], []), [0, 1]).after.map((l) => l.gpu)).toEqual(['0', '1']);
  });

  it('shows a gpus: auto model on the GPUs placement gave it (its label), and nowhere before it is placed', () => {
    const auto = fakeSpec('p', { gpus: { kind: 'auto', count: 2 }, gpuMemoryUtilization: 0.5 });
    expect(gpuMap(planModels([auto], []), [0, 1, 2]).after).toEqual([]);
    const placed = fakeContainer(auto, { labels: { ...modelLabels(auto), 'inferstack.gpus': '1,2' } });
    expect(gpuMap(planModels([auto], [placed]), [0, 1, 2]).before.map((l) => l.gpu)).toEqual(['1', '2']);
  });
});
