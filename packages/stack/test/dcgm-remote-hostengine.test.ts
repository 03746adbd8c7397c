// The DCGM exporter's remote host-engine mode needs one thing from Docker: `host.docker.internal`
// must reach the Docker host, which on Linux takes the extra host `host-gateway` (Engine 20.10+).
// Against the real daemon: the container the stack specifies for DCGM_REMOTE_HOSTENGINE_INFO, with
// a Node process in place of the exporter (whose image needs NVIDIA's registry and a GPU), resolves
// the name to the host and connects to a listener there, as the exporter would to nv-hostengine.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { parseConfig } from '@inferstack/config';
import { connectDocker, ensureService, type DockerClient } from '@inferstack/docker-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, NODE_IMAGE, TEST_LABEL_KEY, testSession } from '../../../test/support/docker.js';
import { freePort } from '../../../test/support/stack-project.js';
import { dcgmSpec } from '../src/services/monitoring.js';

const prefix = `dcgm${randomBytes(3).toString('hex')}`;
const network = `inferstack-test-${prefix}`;
const name = `${prefix}-dcgm-exporter`;
let client: DockerClient;
let server: net.Server | undefined;

/** Connects to DCGM_REMOTE_HOSTENGINE_INFO until a greeting arrives (or 60 s pass), then idles. */
const PROBE = `
const net = require('node:net');
const [host, port] = process.env.DCGM_REMOTE_HOSTENGINE_INFO.split(':');
const deadline = Date.now() + 60000;
(function attempt() {
  const s = net.connect(Number(port), host);
  s.on('data', (d) => { console.log('received ' + String(d).trim()); s.destroy(); });
  s.on('error', () => { if (Date.now() < deadline) setTimeout(attempt, 250); else console.log('gave up'); });
})();
setInterval(() => {}, 1 << 30);
`;

beforeAll(async () => {
  client = await connectDocker();
});

afterAll(async () => {
  server?.close();
  await docker(['rm', '-f', '-v', name], { allowFail: true });
  await docker(['network', 'rm', network], { allowFail: true });
});

async function logsUntil(pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await docker(['logs', name], { allowFail: true })).stdout;
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 250));
  }
  return text;
}

describe('the DCGM exporter with DCGM_REMOTE_HOSTENGINE_INFO=host.docker.internal:<port>', () => {
  it('resolves host.docker.internal to the Docker host and reaches a listener there', async () => {
    const port = await freePort();
    const config = parseConfig(`network: ${network}\nmonitoring: {dcgm-exporter: {container-name: ${name}}}\nmodels:\n  a: {model: x, gpus: none}\n`, {
      file: '/p/model_config/models.yaml',
      projectDir: '/p',
      settings: { DCGM_REMOTE_HOSTENGINE_INFO: `host.docker.internal:${port}` },
    });
    const spec = dcgmSpec(config);
    expect(spec.extraHosts).toEqual(['host.docker.internal:host-gateway']);
    // The exporter's own image and GPU request cannot run here; everything else is the stack's spec.
    const result = await ensureService(client, { ...spec, image: NODE_IMAGE, cmd: ['node', '-e', PROBE], gpus: false }, {
      hashKey: 'test-hash-key',
      extraLabels: { [TEST_LABEL_KEY]: testSession() },
    });
    expect(result.action).toBe('created');

    const inspected = JSON.parse((await docker(['inspect', name])).stdout)[0];
    expect(inspected.HostConfig.ExtraHosts).toEqual(['host.docker.internal:host-gateway']);
    expect(inspected.Config.Env).toEqual(expect.arrayContaining([`DCGM_REMOTE_HOSTENGINE_INFO=host.docker.internal:${port}`, 'DCGM_EXPORTER_DEVICES_STR=f', 'DCGM_EXPORTER_INTERVAL=30000']));

    // The address Docker put in for host-gateway: the host's side of the default bridge. A host
    // engine must listen there (or on 0.0.0.0); its default 127.0.0.1 is out of the container's reach.
    const hostIp = (await docker(['exec', name, 'node', '-e', "require('node:dns').lookup('host.docker.internal', (e, a) => console.log(e ? 'none' : a))"])).stdout.trim();
    expect(hostIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    server = net.createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, hostIp, resolve);
    });
    expect(await logsUntil(/received|gave up/, 70_000)).toContain('received hello from the host');
  });
});
