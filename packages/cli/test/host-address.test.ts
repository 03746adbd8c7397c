// A host's address given as a name, against host b (scripts/ensure-docker-b.sh): Docker binds a
// name given as HostIp on every interface (0.0.0.0 and [::]) and reports 0.0.0.0, so serve
// resolves the name once per call and publishes on the IP address, says so in the plan, and
// sees no drift the next time. A name that does not resolve fails the host before anything
// changes there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerB, dockerOnB, removeSessionResourcesOnB, type DockerB } from '../../../test/support/docker-b.js';
import { STANDIN, createProject, sessionId, type Project } from './_harness.js';

describe('a host address given as a name (host b)', () => {
  let b: DockerB;
  let p: Project;
  const key = () => `${p.prefix}-named`;
  const models = (address: string, apiKey = true) =>
    [
      `network: ${p.network}`,
      'gateway: {mode: none}',
      'monitoring: {mode: none}',
      'hosts:',
      '  b:',
      `    endpoint: ${b.unix.host}`,
      `    address: ${address}`,
      `defaults: {image: ${STANDIN}, pull: never, env: {STANDIN_LOAD_DELAY: "0"}}`,
      'models:',
      // A key: the test's last address is not a loopback one (a model there without a key is refused).
      `  - ${key()}: {model: test/named, gpus: none, host: b${apiKey ? ', api-key: "${NAMED_KEY}"' : ''}}`,
    ].join('\n') + '\n';
  const onB = async (name: string) => JSON.parse((await dockerOnB(['inspect', name], { allowFail: true })).stdout || '[]')[0] as any;

  beforeAll(async () => {
    b = await dockerB();
    p = createProject('host-address', { NAMED_KEY: 'sk-test-named-model-0123456789' });
  });

  afterAll(async () => {
    if (p) {
      await p.serve(['down', '--all', '--drain-timeout', '0'], { timeoutMs: 120_000 }).catch(() => {});
      await p.cleanup();
    }
    if (b) await removeSessionResourcesOnB(sessionId());
  }, 180_000);

  it('plan says what the name resolves to, and opens that address only', async () => {
    p.writeModels(models('localhost'));
    const r = await p.serve(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.notes).toEqual(['host b: address localhost resolves to 127.0.0.1; its models publish there']);
    expect(plan.plan.find((c: { model: string }) => c.model === key())).toMatchObject({ host: 'b', action: 'create', opens: '127.0.0.1:auto' });
    const table = await p.serve(['plan']);
    expect(table.stderr).toContain('host b: address localhost resolves to 127.0.0.1; its models publish there');
  });

  it('up publishes on the IP address only (no 0.0.0.0, no [::]), and the next plan sees no drift', async () => {
    const r = await p.serve(['up'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const c = await onB(`inference-${key()}`);
    expect(c.HostConfig.PortBindings).toEqual({ '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    const bound = (c.NetworkSettings.Ports['8000/tcp'] as Array<{ HostIp: string }>).map((x) => x.HostIp);
    expect(bound).toEqual(['127.0.0.1']);
    const again = await p.serve(['plan', '--exit-code', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).plan.find((x: { model: string }) => x.model === key())).toMatchObject({ action: 'keep' });
  });

  it('a name that does not resolve fails the host with the advice to write the IP; nothing changes there', async () => {
    const before = (await onB(`inference-${key()}`)).Id;
    p.writeModels(models('nowhere.invalid'));
    const r = await p.serve(['up'], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/host b: address nowhere\.invalid does not resolve \(ENOTFOUND\)/);
    expect(r.stderr).toMatch(/write the IP address the gateway's host reaches b on/);
    expect((await onB(`inference-${key()}`)).Id).toBe(before);
    p.writeModels(models('localhost'));
  });

  it('a model published beyond loopback without an api-key is refused before anything changes: exit 2, file:line, both ways out', async () => {
    p.writeModels(models('10.0.0.99', false));
    const r = await p.serve(['up'], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\.yaml:10:\d+ .*model "[^"]+" would be published on 10\.0\.0\.99 \(host b\) without an api-key/);
    expect(r.stderr).toMatch(/api-key: .*allow-open-models: true under hosts: b/);
    p.writeModels(models('localhost'));
  });
});
