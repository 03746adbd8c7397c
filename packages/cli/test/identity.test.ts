// A stack's identity against the real daemon: the same config plans the same under any user;
// a network change, or an old-tool container that runs something else, is drift; a container
// with a service's name that is not ours is never touched.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PROMETHEUS_IMAGE } from '../../../test/support/prometheus-image.js';
import { STANDIN, createProject, docker, type Project } from './_harness.js';

const NODE = 'inferstack-test/node:20';

function models(p: Project, options: { network?: string; maxLen?: number; extra?: string[] } = {}): string {
  return [
    `network: ${options.network ?? p.network}`,
    'gateway: {mode: none}',
    'monitoring: {mode: none}',
    `defaults: {image: ${STANDIN}, pull: never, env: {STANDIN_LOAD_DELAY: "0"}}`,
    ...(options.extra ?? []),
    'models:',
    `  - ${p.prefix}-a: {model: test/a, gpus: none, max-model-len: ${options.maxLen ?? 4096}}`,
    '',
  ].join('\n');
}

describe("a stack's identity", () => {
  const projects: Project[] = [];
  const homes: string[] = [];
  const project = (name: string, env?: Record<string, string>) => {
    const p = createProject(name, env);
    projects.push(p);
    return p;
  };
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferstack-home-'));
    homes.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const p of projects.splice(0)) {
      await p.serve(['down', '--all'], { env: { INFERSTACK_HASH_KEY: '' } }).catch(() => {});
      await p.cleanup();
    }
  });
  afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

  it('plans the same under another user: the HF cache default and the secrets key belong to the stack', async () => {
    const p = project('identity-users');
    // No HUGGINGFACE_CACHE: the default, ~/.cache/huggingface, is where ~ is for the stack.
    writeFileSync(join(p.dir, '.env'), 'HF_TOKEN=hf_identity_token_0123456789\n');
    p.writeModels(models(p));
    const alice = home();
    const up = await p.serve(['up'], { env: { HOME: alice, INFERSTACK_HASH_KEY: '' } });
    expect(up.code, up.stderr).toBe(0);
    const bob = home();
    for (const env of [
      { HOME: bob, INFERSTACK_HASH_KEY: '' },
      // A home whose state directory cannot be written (as under some sudo setups).
      { HOME: '/proc/self', INFERSTACK_HASH_KEY: '' },
    ]) {
      const plan = await p.serve(['plan', '--exit-code'], { env });
      expect(plan.code, `${env.HOME}: ${plan.stdout}${plan.stderr}`).toBe(0);
      expect(plan.stdout).toContain('running, unchanged');
    }
    // The container mounts alice's cache, not bob's.
    const info = await docker.getContainer(`inference-${p.prefix}-a`).inspect();
    expect(info.HostConfig.Binds).toContain(`${join(alice, '.cache', 'huggingface')}:/root/.cache/huggingface`);
  });

  it('a network change is drift: plan says so and up moves the model', async () => {
    const p = project('identity-network');
    p.writeModels(models(p));
    expect((await p.serve(['up'])).code).toBe(0);
    const other = `${p.network}-2`;
    p.writeModels(models(p, { network: other }));
    const plan = await p.serve(['plan', '--exit-code']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(/changed: network → recreate/);
    const up = await p.serve(['up']);
    expect(up.code, up.stderr).toBe(0);
    const info = await docker.getContainer(`inference-${p.prefix}-a`).inspect();
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([other]);
    await p.serve(['down', '--all']);
    await docker.getNetwork(other).remove().catch(() => {});
  });

  it("an old-tool container shows its real drift, and up recreates it as the stack's own", async () => {
    const p = project('identity-adopted');
    p.writeModels(models(p, { maxLen: 4096 }));
    await docker.createNetwork({ Name: p.network, Labels: { 'inferstack.test': p.labels.split('=')[1]! } });
    // As the old tool ran it: its labels only, another --max-model-len.
    const old = await docker.createContainer({
      name: `inference-${p.prefix}-a`,
      Image: STANDIN,
      Cmd: ['test/a', '--port', '8000', '--host', '0.0.0.0', '--max-model-len', '2048'],
      Env: ['STANDIN_LOAD_DELAY=0'],
      Labels: { 'inference.managed': 'true', 'inference.model': `${p.prefix}-a`, 'inferstack.test': p.labels.split('=')[1]! },
      HostConfig: { NetworkMode: p.network, Binds: [`${join(p.dir, 'hf-cache')}:/root/.cache/huggingface`] },
    });
    await old.start();
    const plan = await p.serve(['plan', '--exit-code']);
    expect(plan.code, plan.stdout).toBe(3);
    expect(plan.stdout).toMatch(/made by the old tool; changed: args → recreate/);
    const up = await p.serve(['up']);
    expect(up.code, up.stderr).toBe(0);
    const info = await docker.getContainer(`inference-${p.prefix}-a`).inspect();
    expect(info.Id).not.toBe(old.id);
    expect(info.Config.Labels['inferstack.stack']).toBeTruthy();
    expect((await p.serve(['plan', '--exit-code'])).code).toBe(0);
  });

  it('never removes a container that merely has a service name: up fails with advice, nothing touched', async () => {
    const p = project('identity-foreign');
    const name = `${p.prefix}-prometheus`;
    const foreign = await docker.createContainer({ name, Image: NODE, Cmd: ['node', '-e', 'setInterval(() => {}, 1 << 30)'], Labels: { 'inferstack.test': p.labels.split('=')[1]! } });
    await foreign.start();
    const targets = join(p.dir, 'targets');
    mkdirSync(targets);
    p.writeModels(
      models(p).replace(
        'monitoring: {mode: none}',
        `monitoring: {prometheus: {image: ${PROMETHEUS_IMAGE}, container-name: ${name}, port: 1, targets-dir: ${targets}}, node-exporter: {enabled: false}, grafana: {enabled: false}}`,
      ),
    );
    const up = await p.serve(['up']);
    expect(up.code).toBe(1);
    expect(up.stderr).toContain(`a container named ${name} exists and was not made by inferstack; it was left as it is`);
    expect(up.stderr).toMatch(/→ .*container-name/);
    const info = await docker.getContainer(name).inspect();
    expect(info.Id).toBe(foreign.id);
    expect(info.State.Running).toBe(true);
    // down --all leaves it too.
    await p.serve(['down', '--all']);
    expect((await docker.getContainer(name).inspect()).State.Running).toBe(true);
    await foreign.remove({ force: true });
  });

  it('two stacks with a model of the same key: the second refuses in its plan (exit 2, naming the first), and the first is never touched', async () => {
    const first = project('same-key-one');
    const second = project('same-key-two');
    const one = `${first.prefix}-one`;
    const two = `${first.prefix}-two`;
    const key = `${first.prefix}-shared`;
    const yaml = (p: Project) =>
      [
        `network: ${p.network}`,
        'gateway: {mode: none}',
        'monitoring: {mode: none}',
        `defaults: {image: ${STANDIN}, pull: never, env: {STANDIN_LOAD_DELAY: "0"}}`,
        'models:',
        `  - ${key}: {model: test/shared, gpus: none}`,
        '',
      ].join('\n');
    first.writeModels(yaml(first));
    second.writeModels(yaml(second));
    try {
      const up = await first.serve(['up', '-p', one]);
      expect(up.code, up.stderr).toBe(0);
      const before = await docker.getContainer(`inference-${key}`).inspect();

      for (const verb of ['plan', 'up']) {
        const r = await second.serve([verb, '-p', two]);
        expect(r.code, `${verb}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`model_config/models.yaml:6: model "${key}" of stack ${two} needs its container name inference-${key}, held by a model container of stack ${one}`);
        expect(r.stderr).toContain('nothing was changed');
        expect(r.stderr).toMatch(new RegExp(`rename the model's key in one of the stacks .*stack ${one} is left as it is`));
        expect(r.stderr).not.toMatch(/Conflict|already in use/);
      }

      // The first stack's container is the same one, running since before; the second made nothing, not even its identity.
      const after = await docker.getContainer(`inference-${key}`).inspect();
      expect(after.Id).toBe(before.Id);
      expect(after.State.Running).toBe(true);
      expect(after.State.StartedAt).toBe(before.State.StartedAt);
      expect(await docker.listContainers({ all: true, filters: { label: [`inferstack.stack=${two}`] } })).toEqual([]);
      expect((await first.serve(['plan', '-p', one, '--exit-code'])).code).toBe(0);
    } finally {
      await second.serve(['down', '--all', '-p', two]).catch(() => {});
      await first.serve(['down', '--all', '-p', one]).catch(() => {});
    }
  });
});
