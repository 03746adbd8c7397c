import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NVIDIA_SMI_QUERY_ARGS,
  checkGpuPlacement,
  detectGpusLocally,
  formatGpuProblems,
  maxFittingUtilization,
  parseNvidiaSmi,
  type GpuInfo,
  type GpuProblem,
  type PlacementModel,
} from './gpu.js';

// Real outputs captured on one NVIDIA H200 (driver 580.159.04), kept verbatim in this file so
// the tests run on a clean checkout.
const QUERY_GPU_IDLE_CSV = `index, uuid, name, memory.total [MiB], memory.used [MiB], memory.free [MiB], utilization.gpu [%], driver_version, pci.bus_id, compute_cap
0, GPU-529b1e31-b7dc-6f0d-bff5-fea2197b2b6f, NVIDIA H200, 143771 MiB, 0 MiB, 143156 MiB, 0 %, 580.159.04, 00000000:00:06.0, 9.0
`;
const QUERY_GPU_BUSY_CSV = `index, uuid, name, memory.total [MiB], memory.used [MiB], memory.free [MiB], utilization.gpu [%], driver_version, pci.bus_id, compute_cap
0, GPU-529b1e31-b7dc-6f0d-bff5-fea2197b2b6f, NVIDIA H200, 143771 MiB, 29231 MiB, 113926 MiB, 0 %, 580.159.04, 00000000:00:06.0, 9.0
`;
const QUERY_GPU_BUSY_NOUNITS_CSV = '0, 143771, 29231, 113926\n';
// nvidia-smi-q-idle.xml, cut to the parts around the memory sections (the real file is 27 kB).
const NVIDIA_SMI_Q_IDLE_XML = `<?xml version="1.0" ?>
<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v13.dtd">
<nvidia_smi_log>
	<timestamp>Thu Nov 26 04:20:26 2026</timestamp>
	<driver_version>580.159.04</driver_version>
	<cuda_version>13.0</cuda_version>
	<attached_gpus>1</attached_gpus>
	<gpu id="00000000:00:06.0">
		<product_name>NVIDIA H200</product_name>
		<product_brand>NVIDIA</product_brand>
		<product_architecture>Hopper</product_architecture>
		<mig_devices>
			None
		</mig_devices>
		<serial>0000000000000</serial>
		<uuid>GPU-529b1e31-b7dc-6f0d-bff5-fea2197b2b6f</uuid>
		<pdi>0xcd27f74f639be8ed</pdi>
		<minor_number>0</minor_number>
		<sparse_operation_mode>Disabled</sparse_operation_mode>
		<fb_memory_usage>
			<total>143771 MiB</total>
			<reserved>616 MiB</reserved>
			<used>0 MiB</used>
			<free>143156 MiB</free>
		</fb_memory_usage>
		<bar1_memory_usage>
			<total>262144 MiB</total>
			<used>1 MiB</used>
			<free>262143 MiB</free>
		</bar1_memory_usage>
		<cc_protected_memory_usage>
			<total>0 MiB</total>
			<used>0 MiB</used>
			<free>0 MiB</free>
		</cc_protected_memory_usage>
		<compute_mode>Default</compute_mode>
	</gpu>

</nvidia_smi_log>
`;

const UUID = 'GPU-529b1e31-b7dc-6f0d-bff5-fea2197b2b6f';
const IDLE: GpuInfo = { index: 0, uuid: UUID, name: 'NVIDIA H200', totalMiB: 143771, usedMiB: 0, freeMiB: 143156 };
const BUSY: GpuInfo = { index: 0, uuid: UUID, name: 'NVIDIA H200', totalMiB: 143771, usedMiB: 29231, freeMiB: 113926 };

function gpusOf(text: string): GpuInfo[] {
  const parsed = parseNvidiaSmi(text);
  if (!parsed.ok) throw new Error(`fixture did not parse: ${parsed.error.message}`);
  return parsed.gpus;
}

describe('parseNvidiaSmi', () => {
  it('reads the query with header and units (idle and busy H200)', () => {
    expect(gpusOf(QUERY_GPU_IDLE_CSV)).toEqual([IDLE]);
    expect(gpusOf(QUERY_GPU_BUSY_CSV)).toEqual([BUSY]);
  });

  it('reads the short headerless form index,memory.total,memory.used,memory.free', () => {
    expect(gpusOf(QUERY_GPU_BUSY_NOUNITS_CSV)).toEqual([{ index: 0, totalMiB: 143771, usedMiB: 29231, freeMiB: 113926 }]);
  });

  it('reads the output of NVIDIA_SMI_QUERY_ARGS, several GPUs, CRLF', () => {
    expect(NVIDIA_SMI_QUERY_ARGS).toEqual([
      '--query-gpu=index,uuid,name,memory.total,memory.used,memory.free',
      '--format=csv,noheader,nounits',
    ]);
    const text = `0, ${UUID}, NVIDIA H200, 143771, 29231, 113926\r\n1, GPU-1111, NVIDIA H200, 143771, 0, 143156\r\n`;
    expect(gpusOf(text)).toEqual([
      BUSY,
      { index: 1, uuid: 'GPU-1111', name: 'NVIDIA H200', totalMiB: 143771, usedMiB: 0, freeMiB: 143156 },
    ]);
  });

  it('reads nvidia-smi -q -x, taking fb memory (not BAR1) and the position as index', () => {
    expect(gpusOf(NVIDIA_SMI_Q_IDLE_XML)).toEqual([IDLE]);
    const block = /\t<gpu [\s\S]*<\/gpu>\n/.exec(NVIDIA_SMI_Q_IDLE_XML)?.[0] ?? '';
    const two = NVIDIA_SMI_Q_IDLE_XML.replace(block, block + block.replace('<used>0 MiB', '<used>29231 MiB'));
    expect(gpusOf(two).map((g) => [g.index, g.usedMiB])).toEqual([
      [0, 0],
      [1, 29231],
    ]);
  });

  it('treats "No devices were found" as no GPU', () => {
    expect(parseNvidiaSmi('No devices were found\n')).toEqual({ ok: true, gpus: [] });
  });

  it.each([
    ['empty output', '', 'empty'],
    ['a driver failure message', "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 'unrecognised'],
    ['memory not reported', 'index, memory.total [MiB], memory.used [MiB], memory.free [MiB]\n0, [N/A], [N/A], [N/A]', 'bad-value'],
    ['a header without memory.used', 'index, memory.total [MiB], memory.free [MiB]\n0, 143771 MiB, 143156 MiB', 'missing-column'],
    ['a bad index', 'index, memory.total [MiB], memory.used [MiB], memory.free [MiB]\nx, 143771 MiB, 0 MiB, 143156 MiB', 'bad-value'],
    ['another query (compute-apps-busy.csv)', 'pid, process_name, used_gpu_memory [MiB], gpu_uuid\n420, python3, 29222 MiB, ' + UUID, 'unrecognised'],
    ['the nvidia-smi table', '| NVIDIA-SMI 580.159.04             Driver Version: 580.159.04     CUDA Version: 13.0     |', 'unrecognised'],
    ['XML without fb memory', '<?xml version="1.0" ?>\n<nvidia_smi_log><gpu id="0"><uuid>x</uuid></gpu></nvidia_smi_log>', 'missing-column'],
    ['a truncated row', `0, ${UUID}, NVIDIA H200, 143771, 29231`, 'unrecognised'],
  ])('returns a typed error, not a crash, for %s', (_name, text, reason) => {
    const parsed = parseNvidiaSmi(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.kind).toBe('gpu-parse-error');
      expect(parsed.error.reason).toBe(reason);
      expect(parsed.error.message).not.toBe('');
    }
  });
});

describe('maxFittingUtilization', () => {
  it('is floor((free/total − 0.02) × 100) / 100', () => {
    expect(maxFittingUtilization(113926, 143771)).toBe(0.77); // busy H200: 0.7924 − 0.02
    expect(maxFittingUtilization(143156, 143771)).toBe(0.97); // idle H200
    expect(maxFittingUtilization(79, 100)).toBe(0.77); // exactly on a step: no binary rounding down
    expect(maxFittingUtilization(1, 100)).toBeLessThanOrEqual(0);
  });
});

const model = (key: string, extra: Partial<PlacementModel> = {}): PlacementModel => ({
  key,
  gpus: { kind: 'devices', indices: [0] },
  ...extra,
});

describe('checkGpuPlacement', () => {
  it.each<[string, GpuInfo[], PlacementModel[], GpuProblem['kind'][]]>([
    ['idle H200 fits 0.9', [IDLE], [model('a', { gpuMemoryUtilization: 0.9 })], []],
    ['idle H200 fits the default utilisation', [IDLE], [model('a')], []],
    ['busy H200 does not fit 0.9', [BUSY], [model('a', { gpuMemoryUtilization: 0.9 })], ['insufficient-memory']],
    ['busy H200 does not fit the default (0.9)', [BUSY], [model('a')], ['insufficient-memory']],
    ['busy H200 fits 0.75', [BUSY], [model('a', { gpuMemoryUtilization: 0.75 })], []],
    [
      'two models at 0.5 + 0.5 on one idle GPU do not fit',
      [IDLE],
      [model('a', { gpuMemoryUtilization: 0.5 }), model('b', { gpuMemoryUtilization: 0.5 })],
      ['insufficient-memory'],
    ],
    [
      'two models at 0.45 + 0.45 on one idle GPU fit',
      [IDLE],
      [model('a', { gpuMemoryUtilization: 0.45 }), model('b', { gpuMemoryUtilization: 0.45 })],
      [],
    ],
    [
      'a swap group on one GPU needs only its largest member',
      [IDLE],
      [model('a', { gpuMemoryUtilization: 0.85, swapGroup: 'g' }), model('b', { gpuMemoryUtilization: 0.9, swapGroup: 'g' })],
      [],
    ],
    [
      'a swap group beside another model on one GPU: the largest member counts',
      [IDLE],
      [model('a', { gpuMemoryUtilization: 0.5, swapGroup: 'g' }), model('b', { gpuMemoryUtilization: 0.6, swapGroup: 'g' }), model('c', { gpuMemoryUtilization: 0.45 })],
      ['insufficient-memory'],
    ],
    ['GPU 1 on a single-GPU machine', [IDLE], [model('a', { gpus: { kind: 'devices', indices: [1] } })], ['unknown-gpu']],
    ['gpus: none needs nothing, whatever its TP', [], [model('a', { gpus: { kind: 'none' }, tensorParallelSize: 2 })], []],
    ['gpus: all with no GPU', [], [model('a', { gpus: { kind: 'all' } })], ['no-gpus']],
    ['TP 2 on one listed GPU', [IDLE], [model('a', { tensorParallelSize: 2, gpuMemoryUtilization: 0.5 })], ['tp-exceeds-gpus']],
    ['TP 2 with gpus: all on a single-GPU machine', [IDLE], [model('a', { gpus: { kind: 'all' }, tensorParallelSize: 2 })], ['tp-exceeds-gpus']],
    // Placed by planPlacement, which checks memory itself; the placed replica is then a listed GPU.
    ['gpus: auto is left to placement', [BUSY], [model('a', { gpus: { kind: 'auto', count: 2 } }), model('b', { gpus: { kind: 'auto', count: 1 } })], []],
  ])('%s', (_name, gpus, models, kinds) => {
    expect(checkGpuPlacement({ gpus, models }).map((p) => p.kind)).toEqual(kinds);
  });

  it('gives the numbers of a memory problem and the utilisation that would fit', () => {
    expect(checkGpuPlacement({ gpus: [BUSY], models: [model('qwen-4b', { gpuMemoryUtilization: 0.9 })] })).toEqual([
      {
        kind: 'insufficient-memory',
        gpu: 0,
        gpuName: 'NVIDIA H200',
        totalMiB: 143771,
        freeMiB: 113926,
        freedMiB: 0,
        availableMiB: 113926,
        requiredMiB: 143771 * 0.9,
        models: [{ key: 'qwen-4b', utilization: 0.9, defaulted: false }],
        replaced: [],
        utilizationSum: 0.9,
        maxUtilization: 0.77,
      },
    ]);
  });

  it('reports the missing index and the ones that exist', () => {
    expect(checkGpuPlacement({ gpus: [IDLE], models: [model('a', { gpus: { kind: 'devices', indices: [0, 1, 3] } })] })).toEqual([
      { kind: 'unknown-gpu', key: 'a', missing: [1, 3], available: [0] },
    ]);
  });

  it('counts the memory of replaced containers as freed, but never more than is used', () => {
    const starting = [model('a', { gpuMemoryUtilization: 0.9 })];
    // The 29 GiB on the busy GPU belong to the old container of `a` (0.2 × 143771 = 28754 MiB).
    expect(checkGpuPlacement({ gpus: [BUSY], models: starting, replacing: [model('a', { gpuMemoryUtilization: 0.2 })] })).toEqual([]);
    // Replacing a container on another GPU frees nothing here.
    const other = model('x', { gpuMemoryUtilization: 0.2, gpus: { kind: 'devices', indices: [1] } });
    expect(checkGpuPlacement({ gpus: [BUSY], models: starting, replacing: [other] }).map((p) => p.kind)).toEqual([
      'insufficient-memory',
    ]);
    // A replaced container said to hold 0.9 frees at most what is used (29231 MiB).
    const [problem] = checkGpuPlacement({
      gpus: [{ ...BUSY, usedMiB: 29231, freeMiB: 100000 }],
      models: [model('a', { gpuMemoryUtilization: 0.95 })],
      replacing: [model('old', { gpuMemoryUtilization: 0.9 })],
    });
    expect(problem).toMatchObject({ kind: 'insufficient-memory', freedMiB: 29231, availableMiB: 129231, replaced: ['old'] });
  });

  it('counts a model on the first tensor-parallel-size of its GPUs only', () => {
    const two: GpuInfo[] = [IDLE, { ...IDLE, index: 1, uuid: 'GPU-1111' }];
    // `all` with TP 1 loads on GPU 0 only, so a 0.9 model pinned to GPU 1 fits beside it.
    expect(
      checkGpuPlacement({
        gpus: two,
        models: [model('all', { gpus: { kind: 'all' } }), model('one', { gpus: { kind: 'devices', indices: [1] } })],
      }),
    ).toEqual([]);
    // TP 2 over both GPUs takes 0.9 on each: a second model on GPU 1 no longer fits.
    const problems = checkGpuPlacement({
      gpus: two,
      models: [
        model('tp2', { gpus: { kind: 'devices', indices: [1, 0] }, tensorParallelSize: 2 }),
        model('one', { gpus: { kind: 'devices', indices: [1] }, gpuMemoryUtilization: 0.2 }),
      ],
    });
    expect(problems).toMatchObject([{ kind: 'insufficient-memory', gpu: 1, utilizationSum: 1.1 }]);
  });

  it('reports all problems at once', () => {
    const problems = checkGpuPlacement({
      gpus: [BUSY],
      models: [
        model('wrong-index', { gpus: { kind: 'devices', indices: [2] } }),
        model('too-parallel', { tensorParallelSize: 4, gpuMemoryUtilization: 0.3 }),
        model('big', { gpuMemoryUtilization: 0.6 }),
      ],
    });
    expect(problems.map((p) => p.kind)).toEqual(['unknown-gpu', 'tp-exceeds-gpus', 'insufficient-memory']);
    expect(problems[2]).toMatchObject({ models: [{ key: 'too-parallel' }, { key: 'big' }], utilizationSum: 0.9 });
  });

  it('uses the given default utilisation for models that set none', () => {
    expect(checkGpuPlacement({ gpus: [BUSY], models: [model('a')], defaultUtilization: 0.75 })).toEqual([]);
    expect(checkGpuPlacement({ gpus: [BUSY], models: [model('a')], defaultUtilization: 0.92 })).toMatchObject([
      { kind: 'insufficient-memory', models: [{ key: 'a', utilization: 0.92, defaulted: true }] },
    ]);
  });
});

describe('formatGpuProblems', () => {
  it('words each problem on one line with the numbers and what to set', () => {
    const busy = checkGpuPlacement({ gpus: [BUSY], models: [model('qwen-4b', { gpuMemoryUtilization: 0.9 })] });
    const shared = checkGpuPlacement({
      gpus: [IDLE],
      models: [model('a', { gpuMemoryUtilization: 0.5 }), model('b')],
    });
    const others = checkGpuPlacement({
      gpus: [IDLE],
      models: [
        model('c', { gpus: { kind: 'devices', indices: [1] } }),
        model('d', { tensorParallelSize: 2, gpuMemoryUtilization: 0.1 }),
      ],
    });
    expect(formatGpuProblems([...busy, ...shared, ...others])).toEqual([
      'GPU 0 (NVIDIA H200): qwen-4b at 0.90 needs 126.4 GiB, but only 111.3 GiB free of 140.4 GiB — set gpu-memory-utilization: 0.77 or lower, or free memory on the GPU',
      'GPU 0 (NVIDIA H200): a at 0.50 + b at 0.90 (default) need 196.6 GiB, but only 139.8 GiB free of 140.4 GiB — their gpu-memory-utilization must sum to at most 0.97 (now 1.40), e.g. 0.47 each',
      'c: GPU 1 does not exist (this machine has GPU 0) — fix gpus in models.yaml',
      'd: tensor-parallel-size 2 needs 2 GPUs, but it gets 1 — give it more gpus or set tensor-parallel-size: 1',
    ]);
  });

  it('mentions replaced containers, a full GPU, and a machine without GPUs', () => {
    const [replaced] = formatGpuProblems(
      checkGpuPlacement({
        gpus: [BUSY],
        models: [model('a', { gpuMemoryUtilization: 0.95 })],
        replacing: [model('old', { gpuMemoryUtilization: 0.1 })],
      }),
    );
    expect(replaced).toContain('111.3 GiB free + 14.0 GiB from replaced old of 140.4 GiB');
    const [full] = formatGpuProblems(
      checkGpuPlacement({ gpus: [{ ...BUSY, usedMiB: 143000, freeMiB: 771 }], models: [model('a')] }),
    );
    expect(full).toContain('free the GPU first');
    expect(formatGpuProblems(checkGpuPlacement({ gpus: [], models: [model('a', { gpus: { kind: 'all' } })] }))).toEqual([
      'a: gpus: all, but no GPU was found on this machine — set gpus: none or run where nvidia-smi sees a GPU',
    ]);
    expect(formatGpuProblems(checkGpuPlacement({ gpus: [], models: [model('a')] }))[0]).toBe(
      'a: GPU 0 does not exist (no GPU was found) — fix gpus in models.yaml',
    );
  });
});

describe('detectGpusLocally', () => {
  it('runs nvidia-smi with the query args and parses its output', async () => {
    const calls: Array<[string, readonly string[]]> = [];
    const gpus = await detectGpusLocally({
      exec: async (command, args) => {
        calls.push([command, args]);
        return { stdout: `0, ${UUID}, NVIDIA H200, 143771, 29231, 113926\n`, code: 0 };
      },
    });
    expect(calls).toEqual([['nvidia-smi', NVIDIA_SMI_QUERY_ARGS]]);
    expect(gpus).toEqual([BUSY]);
  });

  it('is unavailable when nvidia-smi is missing, fails, or prints garbage', async () => {
    const enoent = Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
    expect(await detectGpusLocally({ exec: () => Promise.reject(enoent) })).toBe('unavailable');
    expect(
      await detectGpusLocally({
        exec: async () => ({ stdout: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", code: 9 }),
      }),
    ).toBe('unavailable');
    expect(await detectGpusLocally({ exec: async () => ({ stdout: 'garbage', code: 0 }) })).toBe('unavailable');
  });

  it('with the real execFile: missing binary and failing binary are unavailable, a working one is read', async () => {
    expect(await detectGpusLocally({ command: 'inferstack-test-no-such-nvidia-smi' })).toBe('unavailable');
    // node rejects `--query-gpu=...` as a bad option and exits with 9.
    expect(await detectGpusLocally({ command: process.execPath })).toBe('unavailable');
    const dir = await mkdtemp(join(tmpdir(), 'inferstack-gpu-'));
    try {
      const fake = join(dir, 'nvidia-smi');
      await writeFile(fake, `#!/bin/sh\nprintf '%s\\n' '${QUERY_GPU_BUSY_NOUNITS_CSV.trim()}'\n`);
      await chmod(fake, 0o755);
      expect(await detectGpusLocally({ command: fake })).toEqual([{ index: 0, totalMiB: 143771, usedMiB: 29231, freeMiB: 113926 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
