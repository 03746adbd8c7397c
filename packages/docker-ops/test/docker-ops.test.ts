import { randomBytes } from 'node:crypto';
import type { ModelSpec } from '@inferstack/config';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ImagePullError,
  LockHeldError,
  acquireLock,
  applyModelPlan,
  breakLock,
  detectGpusViaDocker,
  ensureImage,
  listModelContainers,
  planModels,
  lockContainerName,
  readLockHolder,
} from '../src/index.js';

const docker = new Docker();
const session = process.env.INFERSTACK_TEST_SESSION ?? `local-${process.pid}`;
const labels = { 'inferstack.test': session };
const tag = randomBytes(3).toString('hex');
const network = `inferstack-test-ops-${tag}`;

function spec(key: string, over: Partial<ModelSpec> = {}): ModelSpec {
  const k = `ops${tag}-${key}`;
  return {
    key: k,
    containerName: `inference-${k}`,
    model: `test/${key}`,
    servedModelName: `test/${key}`,
    image: 'inferstack-test/vllm-standin:latest',
    pullPolicy: 'never',
    gpus: { kind: 'none' },
    replicas: { min: 1, max: 1 },
    routing: 'least-busy',
    vllmArgs: [],
    env: { STANDIN_LOAD_DELAY: '0' },
    secretEnv: {},
    volumes: [],
    specHash: randomBytes(8).toString('hex'),
    source: { file: 'models.yaml', line: 1, column: 1 },
    ...over,
  };
}

async function cleanup() {
  const list = await docker.listContainers({ all: true, filters: { label: [`inferstack.test=${session}`] } });
  await Promise.all(list.filter((c) => c.Names.some((n) => n.includes(`ops${tag}`))).map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
}

describe('docker-ops against the real daemon', () => {
  beforeAll(async () => {
    await docker.createNetwork({ Name: network, Labels: labels });
  });
  afterAll(async () => {
    await cleanup();
    await docker.getNetwork(network).remove().catch(() => {});
  });

  it('says plainly that the daemon has no NVIDIA runtime for a GPU model', async () => {
    const s = spec('gpu', { gpus: { kind: 'devices', indices: [0] } });
    const [outcome] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: labels });
    expect(outcome?.outcome).toBe('failed');
    expect(outcome?.failure?.message).toMatch(/NVIDIA container runtime/);
    expect(outcome?.failure?.hint).toMatch(/NVIDIA Container Toolkit/);
  });

  it('falls back cleanly when a --gpus all probe container cannot get GPUs (no NVIDIA runtime), leaving nothing behind', async () => {
    expect(await detectGpusViaDocker(docker, 'inferstack-test/vllm-standin:latest', { labels })).toBe('unavailable');
    const probes = await docker.listContainers({ all: true, filters: { label: ['inferstack.kind=gpu-probe', `inferstack.test=${session}`] } });
    expect(probes).toEqual([]);
  });

  it('refuses a missing image under pull policy "never" with a clear error', async () => {
    await expect(ensureImage(docker, 'inferstack-test/does-not-exist:1', { policy: 'never' })).rejects.toBeInstanceOf(ImagePullError);
    const s = spec('noimage', { image: 'inferstack-test/does-not-exist:1' });
    const [outcome] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: labels });
    expect(outcome).toMatchObject({ outcome: 'failed', failure: { reason: 'image' } });
  });

  it('gives up on a server that never answers /health, with its last log lines, and stops it', async () => {
    const s = spec('hang', { env: { STANDIN_FAIL: 'hang', STANDIN_LOAD_DELAY: '0' } });
    const [outcome] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: labels, readyTimeoutMs: 2500 });
    expect(outcome).toMatchObject({ outcome: 'failed', failure: { reason: 'timeout' } });
    expect(outcome?.failure?.logs).toMatch(/vLLM|Loading|INFO/);
    const [c] = (await listModelContainers(docker)).filter((x) => x.key === s.key);
    expect(c?.state).toBe('exited');
  });

  it('gives a model that became ready the restart policy unless-stopped', async () => {
    const s = spec('ok');
    const [outcome] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: labels });
    expect(outcome?.outcome).toBe('done');
    const info = await docker.getContainer(outcome!.containerId!).inspect();
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
  });

  it('publishes on the IP a name resolves to: localhost binds 127.0.0.1 only, and is no drift next time', async () => {
    const s = spec('pub');
    const [outcome] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: labels, publishOn: 'localhost' });
    expect(outcome?.outcome).toBe('done');
    const info = await docker.getContainer(outcome!.containerId!).inspect();
    // A name given to Docker as HostIp is bound as 0.0.0.0 and [::]: open on every interface.
    expect(info.HostConfig.PortBindings).toEqual({ '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    expect(info.NetworkSettings.Ports['8000/tcp']?.map((b) => b.HostIp)).toEqual(['127.0.0.1']);
    const [c] = (await listModelContainers(docker)).filter((x) => x.key === s.key);
    expect(c?.published?.address).toBe('127.0.0.1');
    expect(planModels([s], [c!], { network, publishOn: '127.0.0.1' }).map((x) => x.action)).toEqual(['keep']);
  });

  it('starts the legacy entrypoint with --model (argv style from the image)', async () => {
    const s = spec('legacy', { image: 'inferstack-test/vllm-standin:legacy' });
    const [outcome] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: labels });
    expect(outcome?.outcome).toBe('done');
    const info = await docker.getContainer(outcome!.containerId!).inspect();
    expect(info.Config.Cmd?.slice(0, 2)).toEqual(['--model', 'test/legacy']);
  });

  it("reads readiness from Docker's health check (the remote-daemon way)", async () => {
    const s = spec('hc', { env: { STANDIN_LOAD_DELAY: '1' } });
    const [outcome] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: labels, probe: 'healthcheck' });
    expect(outcome?.outcome).toBe('done');
    expect((await docker.getContainer(outcome!.containerId!).inspect()).State.Health?.Status).toBe('healthy');
  });

  it("never removes another stack's replacement of a model of the same key as a leftover of its own", async () => {
    const s = spec('twin');
    const [made] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: { ...labels, 'inferstack.stack': 'two' } });
    expect(made?.outcome).toBe('done');
    // Stack one's new container of its model of the same key, named as a replacement is.
    const theirs = await docker.createContainer({
      name: `${s.containerName}-next`,
      Image: 'inferstack-test/vllm-standin:latest',
      Labels: { ...labels, 'inference.managed': 'true', 'inference.model': s.key, 'inferstack.stack': 'one' },
    });
    const mine = (await listModelContainers(docker)).filter((c) => c.id === made!.containerId);
    const changed = { ...s, specHash: randomBytes(8).toString('hex') };
    const [outcome] = await applyModelPlan(docker, planModels([changed], mine), { network, extraLabels: { ...labels, 'inferstack.stack': 'two' } });
    expect(outcome?.outcome).toBe('failed');
    expect(outcome?.failure?.message).toMatch(/it is stack one's/);
    expect((await theirs.inspect()).Config.Labels['inferstack.stack']).toBe('one');
  });

  it('on abort removes what it made that is not ready yet', async () => {
    const s = spec('abort', { env: { STANDIN_LOAD_DELAY: '30' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1500);
    const [outcome] = await applyModelPlan(docker, planModels([s], []), { network, extraLabels: labels, signal: controller.signal });
    expect(outcome?.outcome).toBe('aborted');
    expect((await listModelContainers(docker)).filter((x) => x.key === s.key)).toEqual([]);
  });
});

describe('the deployment lock', () => {
  // A stack of this test's own: other runs on the daemon take other stacks' locks.
  const stack = `ops${tag}`;

  it('lets one holder act at a time, says who holds it, and takes over a dead holder', async () => {
    await breakLock(docker, stack);
    const first = await acquireLock(docker, { command: 'serve up (test)', extraLabels: labels, stack });
    try {
      const holder = await readLockHolder(docker, stack);
      expect(holder).toMatchObject({ pid: process.pid, command: 'serve up (test)' });
      const second = acquireLock(docker, { command: 'second', waitMs: 300, pollMs: 50, extraLabels: labels, stack });
      await expect(second).rejects.toBeInstanceOf(LockHeldError);
      // Another stack's lock is another lock.
      const other = await acquireLock(docker, { command: 'other stack', waitMs: 0, extraLabels: labels, stack: `${stack}-other` });
      await other.release();
    } finally {
      await first.release();
    }
    // A lock left by a process that no longer exists (SIGKILL) is taken over.
    const dead = await acquireLock(docker, { command: 'killed run', pid: 2 ** 22 + 17, extraLabels: labels, stack });
    void dead;
    const taken = await acquireLock(docker, { command: 'next run', waitMs: 0, extraLabels: labels, stack });
    expect((await readLockHolder(docker, stack))?.command).toBe('next run');
    await taken.release();
    expect(await readLockHolder(docker, stack)).toBeUndefined();
  });

  it('taking over a dead holder removes exactly the lock it looked at: a run that took it first keeps it', async () => {
    await breakLock(docker, stack);
    await acquireLock(docker, { command: 'killed run', pid: 2 ** 22 + 19, extraLabels: labels, stack });
    // Between our look at the dead lock and our removal of it, run B takes it over.
    let runB: Awaited<ReturnType<typeof acquireLock>> | undefined;
    let raced = false;
    const bind = (o: object, p: string | symbol) => {
      const v = (o as Record<string | symbol, unknown>)[p];
      return typeof v === 'function' ? v.bind(o) : v;
    };
    const racing = new Proxy(docker, {
      get(target, prop) {
        if (prop !== 'getContainer') return bind(target, prop);
        return (name: string) => {
          const container = target.getContainer(name);
          if (name !== lockContainerName(stack) || raced) return container;
          return new Proxy(container, {
            get(c, p) {
              if (p !== 'inspect') return bind(c, p);
              return async () => {
                const info = await c.inspect();
                raced = true;
                await c.remove({ force: true });
                runB = await acquireLock(target, { command: 'run B', waitMs: 0, extraLabels: labels, stack });
                return info;
              };
            },
          });
        };
      },
    });
    await expect(acquireLock(racing, { command: 'run A', waitMs: 500, pollMs: 50, extraLabels: labels, stack })).rejects.toMatchObject({ holder: { command: 'run B' } });
    expect(raced).toBe(true);
    expect((await readLockHolder(docker, stack))?.command).toBe('run B');
    await runB?.release();
  });
});
