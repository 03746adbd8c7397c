import { describe, expect, it } from 'vitest';
import { checkWeightsSpace, type InspectedSource, type WeightsInspection } from '@inferstack/docker-ops';
import { hostPathOf, spaceNeeds } from './weights.js';

const MB = 1_000_000;
const disk = (device: number, freeMB: number) => ({ path: '/root/.cache/huggingface', device, freeBytes: freeMB * MB, totalBytes: 1000 * MB });

function inspection(key: string, repo: string, missingMB: number, onDisk = disk(1, 100), commit = 'c1'): WeightsInspection {
  const source = {
    source: { role: 'model', repo, cacheDir: '/root/.cache/huggingface/hub', loadFormat: 'auto', ignorePatterns: [] },
    listing: { repo, revision: 'main', commit },
    selection: { missingBytes: missingMB * MB },
  } as unknown as InspectedSource;
  return { key, sources: [source], totalBytes: missingMB * MB, missingBytes: missingMB * MB, complete: missingMB === 0, offline: { ready: true }, disk: onDisk };
}

describe('spaceNeeds', () => {
  it('counts a repo at a commit once per cache, however many models load it', () => {
    const needs = spaceNeeds('a', [inspection('chat', 'org/m', 60), inspection('chat-long', 'org/m', 60), inspection('code', 'org/c', 30)]);
    expect(needs.map((n) => [n.key, n.missingBytes / MB])).toEqual([
      ['chat', 60],
      ['chat-long', 0],
      ['code', 30],
    ]);
    // 90 MB fit in 100 MB free: nothing refused (counting org/m twice would have refused all three).
    expect(checkWeightsSpace(needs)).toEqual([]);
  });

  it('counts the same repo again at another commit or on another disk', () => {
    const needs = spaceNeeds('a', [inspection('x', 'org/m', 60), inspection('y', 'org/m', 60, disk(1, 100), 'c2'), inspection('z', 'org/m', 60, disk(2, 100))]);
    expect(needs.map((n) => n.missingBytes / MB)).toEqual([60, 60, 60]);
    const [problem] = checkWeightsSpace(needs);
    expect(problem?.models.map((m) => m.key)).toEqual(['x', 'y']);
    expect(problem?.message).toBe('host a: the Hugging Face cache (/root/.cache/huggingface) has 100 MB free of 1.0 GB; the weights still to download need 120 MB (x 60.0 MB, y 60.0 MB)');
  });

  it('leaves out a model whose disk is not known', () => {
    const { disk: _, ...noDisk } = inspection('x', 'org/m', 60);
    expect(spaceNeeds('a', [noDisk])).toEqual([]);
  });
});

describe('hostPathOf', () => {
  const spec = { volumes: [{ source: '/data/hf', target: '/root/.cache/huggingface', readOnly: false }, { source: 'named', target: '/models', readOnly: false }] };
  it('names a container path by the host path of its mount', () => {
    expect(hostPathOf(spec, '/root/.cache/huggingface/hub')).toBe('/data/hf/hub');
    expect(hostPathOf(spec, '/root/.cache/huggingface')).toBe('/data/hf');
    // A named volume or no mount: the container's path stays.
    expect(hostPathOf(spec, '/models/x')).toBe('/models/x');
    expect(hostPathOf(spec, '/root/.cache/huggingfacex')).toBe('/root/.cache/huggingfacex');
  });
});
