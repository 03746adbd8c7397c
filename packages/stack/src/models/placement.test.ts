import { describe, expect, it } from 'vitest';
import type { ModelSpec } from '@inferstack/config';
import type { GpuInfo, ModelContainer } from '@inferstack/docker-ops';
import { placeReplicas } from './placement.js';

/** Placement on one host: the specs with fixed GPUs hold their share, the `gpus: auto` ones are placed. */
function placeOnHost(host: string, gpus: readonly GpuInfo[] | 'unavailable', specs: ModelSpec[], containers: ModelContainer[], replacing = new Set<string>()) {
  const { placed, unplaced } = placeReplicas([{ name: host, gpus, fixed: specs.filter((s) => s.gpus.kind !== 'auto'), containers, replacing }], specs.filter((s) => s.gpus.kind === 'auto'));
  return { placed, unplaced: unplaced.map((u) => u.why) };
}

const gpu = (index: number, freeGiB = 80): GpuInfo => ({ index, totalMiB: 80 * 1024, usedMiB: (80 - freeGiB) * 1024, freeMiB: freeGiB * 1024 });
const spec = (key: string, over: Partial<ModelSpec>) => ({ key, replicas: { min: 1, max: 1 }, gpus: { kind: 'none' }, ...over }) as ModelSpec;
const container = (key: string, replica: number, gpus: string, state = 'running') => ({ key, replica, gpus, state }) as ModelContainer;

describe('placeOnHost', () => {
  it('spreads the replicas of a gpus: auto model over the GPUs the fixed models leave room on', () => {
    const specs = [
      spec('fixed', { gpus: { kind: 'devices', indices: [0] } }),
      spec('auto', { gpus: { kind: 'auto', count: 1 }, replicas: { min: 2, max: 2 } }),
      spec('auto', { gpus: { kind: 'auto', count: 1 }, replicas: { min: 2, max: 2 }, replica: 1 }),
    ];
    const { placed, unplaced } = placeOnHost('local', [gpu(0), gpu(1), gpu(2)], specs, []);
    expect(unplaced).toEqual([]);
    // GPU 0 is the fixed model's (0.9 of it, not started yet): the replicas go to 1 and 2.
    expect([...placed.entries()].map(([id, p]) => [id, p.gpus])).toEqual([
      ['auto#0', [1]],
      ['auto#1', [2]],
    ]);
    expect(placed.get('auto#0')?.reason).toMatch(/GPU 1 of local/);
  });

  it('keeps a replica that runs where it runs, and says why one fits nowhere', () => {
    const specs = [0, 1, 2].map((i) => spec('auto', { gpus: { kind: 'auto', count: 2 }, replicas: { min: 3, max: 3 }, ...(i ? { replica: i } : {}) }));
    const { placed, unplaced } = placeOnHost('local', [gpu(0, 1), gpu(1, 1), gpu(2), gpu(3)], specs, [container('auto', 0, '0,1')]);
    expect(placed.get('auto#0')?.gpus).toEqual([0, 1]);
    expect(placed.get('auto#1')?.gpus).toEqual([2, 3]);
    expect(unplaced).toHaveLength(1);
    expect(unplaced[0]).toMatch(/^auto#2: /);
  });

  it('places nothing without GPUs to read, and says so', () => {
    const { placed, unplaced } = placeOnHost('local', 'unavailable', [spec('auto', { gpus: { kind: 'auto', count: 1 }, replicas: { min: 2, max: 2 } })], []);
    expect(placed.size).toBe(0);
    expect(unplaced[0]).toMatch(/^auto: no host has 1 GPU.*\(local: its GPUs could not be read/);
  });
});

describe('placeOnHost, replacing a replica', () => {
  const specs = [0, 1].map((i) => spec('auto', { gpus: { kind: 'auto', count: 1 }, replicas: { min: 2, max: 2 }, ...(i ? { replica: i } : {}) }));
  const running = [container('auto', 0, '0'), container('auto', 1, '1')];

  it('puts the new container beside the old one where a GPU has room', () => {
    const { placed } = placeOnHost('local', [gpu(0, 7), gpu(1, 7), gpu(2)], specs, running, new Set(['auto#0']));
    expect(placed.get('auto#0')).toMatchObject({ gpus: [2] });
    expect(placed.get('auto#0')?.inPlace).toBeUndefined();
    // The one not replaced stays where it runs.
    expect(placed.get('auto#1')?.gpus).toEqual([1]);
  });

  it('replaces it in place on its own GPUs when no other GPU has room', () => {
    const { placed, unplaced } = placeOnHost('local', [gpu(0, 7), gpu(1, 7)], specs, running, new Set(['auto#0']));
    expect(unplaced).toEqual([]);
    expect(placed.get('auto#0')).toMatchObject({ gpus: [0], inPlace: true });
    expect(placed.get('auto#0')?.reason).toMatch(/replaced in place on GPU 0 of local/);
  });
});

describe('placeReplicas over several hosts', () => {
  const replicas = (n: number, hosts: string[]) =>
    Array.from({ length: n }, (_, i) => spec('auto', { gpus: { kind: 'auto', count: 1 }, replicas: { min: n, max: n }, placementHosts: hosts, host: hosts[0], ...(i ? { replica: i } : {}) }));

  it('spreads the replicas over the hosts first, then the GPUs', () => {
    const views = [
      { name: 'local', gpus: [gpu(0), gpu(1)], fixed: [], containers: [], replacing: new Set<string>() },
      { name: 'b', gpus: [gpu(0), gpu(1)], fixed: [], containers: [], replacing: new Set<string>() },
    ];
    const { placed, unplaced } = placeReplicas(views, replicas(3, ['local', 'b']));
    expect(unplaced).toEqual([]);
    expect([...placed.entries()].map(([id, p]) => [id, p.host, p.gpus])).toEqual([
      ['auto#0', 'local', [0]],
      ['auto#1', 'b', [0]],
      ['auto#2', 'local', [1]],
    ]);
    expect(placed.get('auto#1')?.reason).toMatch(/the first replica of auto on b/);
  });

  it('keeps a replica on the host where it runs, and places none on a host whose GPUs are unknown', () => {
    const running = { ...container('auto', 1, '1'), host: 'b' } as ModelContainer;
    const views = [
      { name: 'local', gpus: 'unavailable' as const, fixed: [], containers: [], replacing: new Set<string>() },
      { name: 'b', gpus: [gpu(0), gpu(1)], fixed: [], containers: [running], replacing: new Set<string>() },
    ];
    const { placed, unplaced } = placeReplicas(views, replicas(2, ['local', 'b']));
    expect(unplaced).toEqual([]);
    expect(placed.get('auto#1')).toMatchObject({ host: 'b', gpus: [1] });
    expect(placed.get('auto#1')?.reason).toMatch(/stays on GPU 1 of b, where it runs/);
    expect(placed.get('auto#0')).toMatchObject({ host: 'b', gpus: [0] });
  });

  it('moves a replica off a host that is no longer one of its hosts', () => {
    const running = { ...container('auto', 0, '0'), host: 'b' } as ModelContainer;
    const views = [
      { name: 'local', gpus: [gpu(0)], fixed: [], containers: [], replacing: new Set<string>() },
      { name: 'b', gpus: [gpu(0)], fixed: [], containers: [running], replacing: new Set<string>() },
    ];
    const { placed } = placeReplicas(views, replicas(1, ['local']).map((s) => ({ ...s, placementHosts: ['local'] })));
    expect(placed.get('auto#0')).toMatchObject({ host: 'local', gpus: [0] });
    expect(placed.get('auto#0')?.reason).toMatch(/moves from GPU 0 of b \(b is no longer one of its hosts\)/);
  });
});
