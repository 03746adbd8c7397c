import { describe, expect, it } from 'vitest';
import { LABEL_SERVICE, LABEL_SPEC_FIELDS, LABEL_SPEC_HASH, LABEL_STACK } from './labels.js';
import { planService, serviceContainerOptions, serviceSpecHash, type ObservedService, type ServiceSpec } from './services.js';

const SPEC: ServiceSpec = {
  name: 'litellm',
  kind: 'gateway',
  image: 'img:1',
  cmd: ['--port', '4000'],
  env: { B: '2', A: '1' },
  secretEnv: { K: 'secret' },
  binds: ['/a:/b:ro'],
  ports: [{ container: 4000, host: 4000, hostIp: '127.0.0.1' }],
  network: 'net',
  files: { dir: '/', entries: [{ name: 'x.js', content: Buffer.from('hi') }] },
};
const KEY = 'k';

/** The container `ensureService` would have made from `spec` (its labels), in a given state. */
function made(spec: ServiceSpec, options: { running?: boolean; stack?: string; hashKey?: string } = {}): ObservedService {
  const create = serviceContainerOptions(spec, serviceSpecHash(spec, options.hashKey ?? KEY), options.stack ? { [LABEL_STACK]: options.stack } : {});
  return { id: 'c1', labels: create.Labels ?? {}, running: options.running ?? true };
}

describe('planService', () => {
  it('creates a missing container, keeps a running unchanged one, starts a stopped one', () => {
    expect(planService(SPEC, undefined, { hashKey: KEY })).toEqual({ action: 'create' });
    expect(planService(SPEC, made(SPEC), { hashKey: KEY }).action).toBe('keep');
    expect(planService(SPEC, made(SPEC, { running: false }), { hashKey: KEY }).action).toBe('start');
  });

  it('recreates a changed one and names the fields that changed', () => {
    const port = planService({ ...SPEC, ports: [{ container: 4000, host: 4001, hostIp: '127.0.0.1' }] }, made(SPEC), { hashKey: KEY });
    expect(port).toMatchObject({ action: 'recreate', reason: 'changed', changed: ['ports'] });
    const two = planService({ ...SPEC, image: 'img:2', env: { A: '1', B: '3' } }, made(SPEC, { running: false }), { hashKey: KEY });
    expect(two).toMatchObject({ action: 'recreate', changed: ['image', 'env'] });
    // The watcher's program is copied in: a new build is a change of its files.
    const files = planService({ ...SPEC, files: { dir: '/', entries: [{ name: 'x.js', content: Buffer.from('ho') }] } }, made(SPEC), { hashKey: KEY });
    expect(files).toMatchObject({ action: 'recreate', changed: ['files'] });
    // The order of the environment is no change.
    expect(planService({ ...SPEC, env: { A: '1', B: '2' } }, made(SPEC), { hashKey: KEY }).action).toBe('keep');
  });

  it('says "secrets" when only a secret changed, and names no field for a container that recorded none', () => {
    expect(planService({ ...SPEC, secretEnv: { K: 'other' } }, made(SPEC), { hashKey: KEY })).toMatchObject({ action: 'recreate', changed: ['secrets'] });
    const old = made(SPEC);
    const { [LABEL_SPEC_FIELDS]: _, ...labels } = old.labels;
    expect(planService({ ...SPEC, image: 'img:2' }, { ...old, labels }, { hashKey: KEY })).toMatchObject({ action: 'recreate', reason: 'changed', changed: [] });
  });

  it('never records a secret in the labels', () => {
    expect(JSON.stringify(made(SPEC).labels)).not.toContain('secret');
  });

  it("refuses a container of that name that is another stack's or not a service of this kind; takes one without a stack", () => {
    expect(planService(SPEC, made(SPEC, { stack: 'other' }), { hashKey: KEY, stack: 'mine' })).toMatchObject({ action: 'conflict', owner: 'other' });
    expect(planService(SPEC, { id: 'x', labels: {}, running: true }, { hashKey: KEY, stack: 'mine' })).toEqual({ action: 'conflict', container: { id: 'x', labels: {}, running: true } });
    expect(planService(SPEC, made({ ...SPEC, kind: 'grafana' }), { hashKey: KEY }).action).toBe('conflict');
    expect(planService(SPEC, made(SPEC), { hashKey: KEY, stack: 'mine' }).action).toBe('keep');
    expect(planService(SPEC, made(SPEC, { stack: 'mine' }), { hashKey: KEY, stack: 'mine' }).action).toBe('keep');
  });

  it('recreates every one with forceRecreate', () => {
    expect(planService(SPEC, made(SPEC), { hashKey: KEY, forceRecreate: true })).toMatchObject({ action: 'recreate', reason: 'forced' });
  });
});

describe('serviceSpecHash', () => {
  it('is the same as before field digests were recorded: an upgrade recreates no service', () => {
    expect(serviceSpecHash(SPEC, KEY)).toBe('da257db79e41e6ac');
    expect(made(SPEC).labels[LABEL_SPEC_HASH]).toBe('da257db79e41e6ac');
    expect(made(SPEC).labels[LABEL_SERVICE]).toBe('gateway');
  });
});
