import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNvidiaSmi, type GpuInfo } from './gpu.js';
import { planPlacement, type PlacementHost, type ReplicaRequest } from './placement.js';

// Captured on one H200 (see test-fixtures/nvidia-smi/README.md): idle, and with ~29 GiB held.
const fixture = (name: string) => readFileSync(new URL(`../test-fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');
const [HEADER = '', IDLE_ROW = ''] = fixture('query-gpu-idle.csv').trim().split('\n');
const BUSY_ROW = fixture('query-gpu-busy.csv').trim().split('\n')[1] ?? '';

/** An eight-H200 box as nvidia-smi prints it: the captured rows, one per GPU, with its index. */
function h200Box(busy: readonly number[]): GpuInfo[] {
  const rows = Array.from({ length: 8 }, (_, i) => (busy.includes(i) ? BUSY_ROW : IDLE_ROW).replace(/^0,/, `${i},`));
  const parsed = parseNvidiaSmi([HEADER, ...rows].join('\n'));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.gpus;
}

/** A synthetic GPU: `total` GiB with `free` GiB free. */
const gpu = (index: number, totalGiB = 80, freeGiB = totalGiB): GpuInfo => ({ index, totalMiB: totalGiB * 1024, usedMiB: (totalGiB - freeGiB) * 1024, freeMiB: freeGiB * 1024 });

const replicas = (key: string, n: number, over: Partial<ReplicaRequest> = {}): ReplicaRequest[] =>
  Array.from({ length: n }, (_, replica) => ({ key, replica, gpuCount: 1, hosts: ['local'], ...over }));

const where = (placement: ReturnType<typeof planPlacement>) =>
  placement.replicas.map((r) => (r.outcome === 'unplaced' ? `${r.key}#${r.replica} -` : `${r.key}#${r.replica} ${r.host}:${r.gpus.join(',')}`));

describe('planPlacement on a captured 8 × H200 box', () => {
  const box: PlacementHost[] = [{ name: 'local', gpus: h200Box([0, 1, 2]) }];

  it('reads the box as the pre-flight does: three GPUs with 29 GiB held, five idle', () => {
    expect(box[0]?.gpus).toHaveLength(8);
    expect((box[0]?.gpus as GpuInfo[]).map((g) => g.freeMiB)).toEqual([113926, 113926, 113926, 143156, 143156, 143156, 143156, 143156]);
  });

  it('puts replicas where the most memory is free, one GPU each, and a tensor-parallel replica on GPUs of one host', () => {
    const placement = planPlacement({
      hosts: box,
      replicas: [...replicas('small', 2, { utilization: 0.75 }), ...replicas('big', 1, { gpuCount: 2, utilization: 0.9 })],
    });
    // The largest first: big takes two idle GPUs; small spreads over the next idle ones.
    expect(where(placement)).toEqual(['small#0 local:5', 'small#1 local:6', 'big#0 local:3,4']);
    const small = placement.replicas[0];
    expect(small?.outcome).toBe('placed');
    expect(small?.reason).toBe('GPU 5 of local: the most free memory (139.8 GiB, needs 105.3 GiB)');
    expect(placement.replicas[2]?.reason).toBe('GPUs 3, 4 of local: the most free memory (139.8 GiB on each, needs 126.4 GiB each)');
  });

  it('counts what the stack\'s other models hold: busy GPUs take a replica that fits there', () => {
    const placement = planPlacement({
      hosts: box,
      // A model with fixed GPUs that is about to start on the idle ones (nvidia-smi does not see it yet).
      held: [{ key: 'pinned', host: 'local', gpus: [3, 4, 5, 6, 7], utilization: 0.5 }],
      replicas: replicas('small', 2, { utilization: 0.75 }),
    });
    expect(where(placement)).toEqual(['small#0 local:0', 'small#1 local:1']);
    // 0.9 fits nowhere: 111.3 GiB free on the busy ones, 70 GiB left beside pinned on the others.
    const none = planPlacement({ hosts: box, held: [{ key: 'pinned', host: 'local', gpus: [3, 4, 5, 6, 7], utilization: 0.5 }], replicas: replicas('big', 1) });
    expect(none.replicas[0]).toMatchObject({ outcome: 'unplaced', considered: [{ host: 'local' }] });
    expect(none.replicas[0]?.reason).toBe('no host has 1 GPU with 0.9 of its memory free');
    expect(none.replicas[0]?.outcome === 'unplaced' && none.replicas[0].considered[0]?.why).toBe('no GPU has 126.4 GiB free (the most: GPU 0, 111.3 GiB)');
  });

  it('does not count memory twice that the pre-flight already saw used', () => {
    // pinned runs on GPUs 0-2 (its 29 GiB are in "used"): nothing more is taken off.
    const held = [{ key: 'pinned', host: 'local', gpus: [0, 1, 2], utilization: 0.2, measured: true }];
    expect(where(planPlacement({ hosts: box, held, replicas: replicas('m', 6, { utilization: 0.75 }) }))).toEqual([
      'm#0 local:3', 'm#1 local:4', 'm#2 local:5', 'm#3 local:6', 'm#4 local:7', 'm#5 local:0',
    ]);
    const unmeasured = [{ ...held[0]!, measured: false }];
    // 111.3 GiB − 0.2 × 140.4 GiB = 83.2 GiB: 0.75 (105.3 GiB) no longer fits there.
    expect(where(planPlacement({ hosts: box, held: unmeasured, replicas: replicas('m', 6, { utilization: 0.75 }) })).at(-1)).toBe('m#5 -');
  });
});

describe('planPlacement across hosts', () => {
  const twoByTwo: PlacementHost[] = [
    { name: 'a', gpus: [gpu(0), gpu(1)] },
    { name: 'b', gpus: [gpu(0), gpu(1)] },
  ];

  it('spreads a model\'s replicas over hosts first, then over GPUs', () => {
    const placement = planPlacement({ hosts: twoByTwo, replicas: replicas('m', 4, { utilization: 0.4, hosts: ['a', 'b'] }) });
    expect(where(placement)).toEqual(['m#0 a:0', 'm#1 b:0', 'm#2 a:1', 'm#3 b:1']);
    expect(placement.replicas[1]?.reason).toMatch(/^GPU 0 of b: the most free memory .*; the first replica of m on b$/);
  });

  it('places tensor-parallel replicas on two GPUs of one host, and says why the third fits nowhere', () => {
    const placement = planPlacement({ hosts: twoByTwo, replicas: replicas('tp', 3, { gpuCount: 2, utilization: 0.6, hosts: ['a', 'b'] }) });
    expect(where(placement)).toEqual(['tp#0 a:0,1', 'tp#1 b:0,1', 'tp#2 -']);
    const third = placement.replicas[2];
    expect(third?.reason).toBe('no host has 2 GPUs with 0.6 of their memory free');
    expect(third?.outcome === 'unplaced' && third.considered).toEqual([
      { host: 'a', why: 'no GPU has 48.0 GiB free (the most: GPU 0, 32.0 GiB)' },
      { host: 'b', why: 'no GPU has 48.0 GiB free (the most: GPU 0, 32.0 GiB)' },
    ]);
  });

  it('a full host: the replicas go to the other, and the reason says the first host had no room', () => {
    const placement = planPlacement({
      hosts: twoByTwo,
      held: [{ key: 'hog', host: 'a', gpus: [0, 1], utilization: 0.9 }],
      replicas: replicas('m', 2, { utilization: 0.5, hosts: ['a', 'b'] }),
    });
    expect(where(placement)).toEqual(['m#0 b:0', 'm#1 b:1']);
    expect(placement.replicas[1]?.reason).toMatch(/; 1 replica of m already on b: a has no room$/);
  });

  it('says which hosts it looked at and what each lacked', () => {
    const placement = planPlacement({
      hosts: [
        { name: 'local', gpus: [gpu(0)] },
        { name: 'gpu1', gpus: 'unavailable' },
        { name: 'gpu2', gpus: [] },
      ],
      replicas: [{ key: 'tp', replica: 0, gpuCount: 2, hosts: ['local', 'gpu1', 'gpu2', 'gpu3'] }],
    });
    expect(placement.replicas[0]).toEqual({
      key: 'tp',
      replica: 0,
      outcome: 'unplaced',
      reason: 'no host has 2 GPUs with 0.9 of their memory free',
      considered: [
        { host: 'local', why: 'has 1 GPU, needs 2 on one host' },
        { host: 'gpu1', why: 'its GPUs could not be read (nvidia-smi)' },
        { host: 'gpu2', why: 'has no GPU' },
        { host: 'gpu3', why: 'its GPUs are not known' },
      ],
    });
  });

  it('needs its share of each GPU\'s own memory when GPUs differ in size', () => {
    // 0.5 of a 40 GiB GPU is 20 GiB (fits in 25 free); 0.5 of an 80 GiB one is 40 GiB (does not fit in 30).
    const placement = planPlacement({
      hosts: [{ name: 'local', gpus: [gpu(0, 80, 30), gpu(1, 40, 25)] }],
      replicas: replicas('m', 1, { utilization: 0.5 }),
    });
    expect(where(placement)).toEqual(['m#0 local:1']);
  });
});

describe('planPlacement is stable', () => {
  const hosts: PlacementHost[] = [
    { name: 'a', gpus: [gpu(0), gpu(1)] },
    { name: 'b', gpus: [gpu(0), gpu(1)] },
  ];
  const wanted = [...replicas('m', 2, { utilization: 0.4, hosts: ['a', 'b'] }), ...replicas('tp', 1, { gpuCount: 2, utilization: 0.4, hosts: ['a', 'b'] })];

  it('gives the same answer for the same input, in any order', () => {
    const first = planPlacement({ hosts, replicas: wanted });
    expect(planPlacement({ hosts, replicas: wanted })).toEqual(first);
    const shuffled = planPlacement({ hosts: [...hosts].reverse(), replicas: [...wanted].reverse() });
    expect(where(shuffled).sort()).toEqual(where(first).sort());
  });

  it('never moves a replica that exists, even where another GPU now has more room', () => {
    const first = planPlacement({ hosts, replicas: wanted });
    const existing = wanted.map((r, i) => {
      const p = first.replicas[i];
      return p && p.outcome !== 'unplaced' ? { ...r, current: { host: p.host, gpus: p.gpus, measured: true } } : r;
    });
    // Since then, b's GPUs filled up and a's emptied: the replicas stay, a new one goes where the room is.
    const later: PlacementHost[] = [
      { name: 'a', gpus: [gpu(0), gpu(1)] },
      { name: 'b', gpus: [gpu(0, 80, 40), gpu(1, 80, 40)] },
    ];
    const again = planPlacement({ hosts: later, replicas: [...existing, { key: 'm', replica: 2, gpuCount: 1, utilization: 0.4, hosts: ['a', 'b'] }] });
    expect(where(again).slice(0, 3)).toEqual(where(first));
    expect(again.replicas.slice(0, 3).every((r) => r.outcome === 'kept')).toBe(true);
    expect(again.replicas[0]?.reason).toMatch(/^stays on GPU \d of [ab], where it runs$/);
    expect(again.replicas[3]).toMatchObject({ outcome: 'placed', host: 'a' });
  });

  it('places again a replica whose host is no longer one of its hosts, or whose GPU count changed', () => {
    const placement = planPlacement({
      hosts,
      replicas: [
        { key: 'm', replica: 0, gpuCount: 1, utilization: 0.4, hosts: ['a'], current: { host: 'b', gpus: [0] } },
        { key: 'tp', replica: 0, gpuCount: 2, utilization: 0.4, hosts: ['a', 'b'], current: { host: 'b', gpus: [1] } },
      ],
    });
    expect(placement.replicas[0]).toMatchObject({ outcome: 'placed', host: 'a' });
    expect(placement.replicas[0]?.reason).toMatch(/^moves from GPU 0 of b \(b is no longer one of its hosts\) to GPU 0 of a/);
    expect(placement.replicas[1]?.reason).toMatch(/^moves from GPU 1 of b \(it needs 2 GPUs now\) to GPUs/);
  });

  it('counts a kept replica that does not run yet (or sleeps) against its GPUs', () => {
    const placement = planPlacement({
      hosts: [{ name: 'a', gpus: [gpu(0), gpu(1)] }],
      replicas: [
        { key: 'm', replica: 0, gpuCount: 1, utilization: 0.7, hosts: ['a'], current: { host: 'a', gpus: [1] } },
        { key: 'n', replica: 0, gpuCount: 1, utilization: 0.7, hosts: ['a'] },
      ],
    });
    expect(where(placement)).toEqual(['m#0 a:1', 'n#0 a:0']);
    expect(placement.room).toEqual([
      { host: 'a', gpu: 0, totalMiB: 81920, availableMiB: 24576, holders: ['n#0'] },
      { host: 'a', gpu: 1, totalMiB: 81920, availableMiB: 24576, holders: ['m#0'] },
    ]);
  });
});
