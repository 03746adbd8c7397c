// The service registry: one new entry is a service that up, status, exportCompose and down --all
// all see, against the real daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICES, openStack, type ServiceDefinition, type Stack } from '../src/index.js';
import { docker, NODE_IMAGE } from '../../../test/support/docker-cli.js';
import { createStackProject, type StackProject } from '../../../test/support/stack-project.js';

describe('a service added to the registry', () => {
  let p: StackProject;
  let stack: Stack;
  const name = () => `${p.prefix}-sidecar`;
  let prepared = 0;

  beforeAll(async () => {
    p = await createStackProject('stack-services');
    p.write(['a'], { gateway: false, monitoring: false });
    const sidecar: ServiceDefinition = {
      id: 'sidecar',
      configured: () => true,
      containerName: () => name(),
      async prepare() {
        prepared++;
        return { changed: false };
      },
      spec: (ctx) => ({ name: name(), kind: 'sidecar', image: NODE_IMAGE, cmd: ['node', '-e', 'setInterval(() => {}, 1 << 30)'], network: ctx.config.network }),
      url: () => 'http://127.0.0.1:1',
    };
    stack = await openStack({ configPath: p.file, env: p.env, services: [...DEFAULT_SERVICES, sidecar] });
  });
  afterAll(() => p.cleanup());

  it('is started by up, listed by status, exported to compose and removed by down --all', async () => {
    const up = await stack.up();
    expect(up.ok).toBe(true);
    expect(up.services).toEqual([{ service: 'sidecar', container: name(), ok: true, action: 'created', reloaded: false }]);
    expect((await docker(['inspect', '-f', '{{.State.Running}}', name()])).stdout.trim()).toBe('true');

    const status = await stack.status();
    expect(status.services).toEqual([{ service: 'sidecar', container: name(), state: 'running', url: 'http://127.0.0.1:1' }]);

    const again = await stack.up();
    expect(again.services).toEqual([{ service: 'sidecar', container: name(), ok: true, action: 'kept', reloaded: false }]);

    const compose = await stack.exportCompose();
    expect(compose.compose.services[name()]).toMatchObject({ image: NODE_IMAGE, container_name: name() });
    expect(prepared).toBe(3);

    const down = await stack.down({ all: true });
    expect(down.ok).toBe(true);
    expect(down.services).toEqual([{ service: 'sidecar', container: name(), ok: true }]);
    expect((await docker(['inspect', name()], { allowFail: true })).code).not.toBe(0);
  });
});
