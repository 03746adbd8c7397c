import { describe, expect, test } from 'vitest';
import { checkWeightsSpace, decideWeightsPull, offlineStartEnv } from './weights-space.js';

const GB = 1e9;
const disk = (device: number, free: number) => ({ path: '/root/.cache/huggingface/hub', freeBytes: free, totalBytes: 500 * GB, device });

describe('checkWeightsSpace', () => {
  test('models whose caches share a disk on a host share its space; other hosts and disks are apart', () => {
    const problems = checkWeightsSpace([
      { key: 'qwen-32b', host: 'gpu-1', disk: disk(2049, 70 * GB), missingBytes: 65.5 * GB },
      { key: 'llama-8b', host: 'gpu-1', disk: disk(2049, 70 * GB), missingBytes: 16.1 * GB },
      { key: 'small', host: 'gpu-1', disk: disk(2050, 1 * GB), missingBytes: 0.5 * GB },
      { key: 'other', host: 'gpu-2', disk: disk(2049, 70 * GB), missingBytes: 60 * GB },
      { key: 'done', host: 'gpu-3', disk: disk(1, 0), missingBytes: 0 },
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ host: 'gpu-1', neededBytes: 81.6 * GB, freeBytes: 70 * GB, models: [{ key: 'qwen-32b' }, { key: 'llama-8b' }] });
    expect(problems[0]!.message).toBe(
      'host gpu-1: the Hugging Face cache (/root/.cache/huggingface/hub) has 70.0 GB free of 500 GB; the weights still to download need 81.6 GB (qwen-32b 65.5 GB, llama-8b 16.1 GB)',
    );
    expect(problems[0]!.hint).toBe('free 11.6 GB on that disk, move the cache to a larger one (HUGGINGFACE_CACHE in .env), or pull fewer models at once');
  });

  test('a reserve is kept free', () => {
    const need = [{ key: 'm', host: 'local', disk: disk(1, 10 * GB), missingBytes: 9 * GB }];
    expect(checkWeightsSpace(need)).toEqual([]);
    expect(checkWeightsSpace(need, { reserveBytes: 2 * GB })[0]?.message).toContain(', keeping 2.0 GB free');
  });
});

describe('decideWeightsPull and offlineStartEnv', () => {
  test('the pull policy governs the weights as it governs the image', () => {
    expect(decideWeightsPull('never', undefined)).toEqual({ pull: false, reason: 'pull: never' });
    expect(decideWeightsPull('always', { complete: true })).toEqual({ pull: true, reason: 'pull: always' });
    expect(decideWeightsPull('missing', { complete: true })).toEqual({ pull: false, reason: 'complete in the cache' });
    expect(decideWeightsPull('missing', { complete: false })).toEqual({ pull: true, reason: 'missing from the cache' });
  });

  test('HF_HUB_OFFLINE=1 for a complete cache vLLM can start from, unless the user set it', () => {
    const ready = { complete: true, offline: { ready: true } };
    expect(offlineStartEnv({ env: {} }, ready)).toEqual({ HF_HUB_OFFLINE: '1' });
    expect(offlineStartEnv({ env: { HF_HUB_OFFLINE: '0' } }, ready)).toEqual({});
    expect(offlineStartEnv({ env: {} }, { complete: true, offline: { ready: false } })).toEqual({});
    expect(offlineStartEnv({ env: {} }, { complete: false, offline: { ready: true } })).toEqual({});
  });
});
