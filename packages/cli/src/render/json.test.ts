import type { StopResult, UpResult } from '@inferstack/stack';
import { describe, expect, it } from 'vitest';
import { stopJson, upJson } from './json.js';

const hosts = [
  { host: 'local', ok: true as const },
  { host: 'gpu2', ok: false as const, error: new Error('connect ECONNREFUSED 10.0.0.2:2376'), hint: 'is dockerd running on gpu2?' },
];

describe('--json documents', () => {
  it('a host that could not be reached carries its error and hint in every command that reports hosts', () => {
    const stop: StopResult = { ok: false, models: [], services: [], hosts };
    const up: UpResult = { ok: false, interrupted: false, plan: [], models: [], services: [], hosts, elapsedMs: 5 };
    const expected = [{ host: 'local', ok: true }, { host: 'gpu2', ok: false, error: 'connect ECONNREFUSED 10.0.0.2:2376', hint: 'is dockerd running on gpu2?' }];
    expect(stopJson(stop, 'stop', { several: true }).hosts).toEqual(expected);
    expect(stopJson(stop, 'down', { several: true }).hosts).toEqual(expected);
    expect(upJson(up, true).hosts).toEqual(expected);
  });

  it('one host: no hosts in the document', () => {
    const stop: StopResult = { ok: true, models: [], services: [], hosts: [{ host: 'local', ok: true }] };
    expect(stopJson(stop, 'stop', { several: false })).not.toHaveProperty('hosts');
  });
});
