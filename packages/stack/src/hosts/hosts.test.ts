import { parseConfig } from '@inferstack/config';
import { describe, expect, it } from 'vitest';
import { containerAddress, containerApiBase, shownApiBase } from '../models/endpoints.js';
import { exposureWarnings, hasSeveralHosts, insecureTransportWarnings, keptModels, modelsOnHost, publishAddress } from './hosts.js';
import { desiredDeployments } from '../gateway/sync.js';
import { dcgmExporterService, nodeExporterService } from '../services/monitoring.js';

const load = (yaml: string) => parseConfig(yaml, { file: '/p/model_config/models.yaml', projectDir: '/p', settings: { K: 'sk-model-key-0123' } });
const CONFIG = load(
  [
    'hosts:',
    '  b: {endpoint: "ssh://root@gpu-b", address: 10.0.0.2, allow-open-models: true}',
    '  c: {endpoint: "tcp://10.0.0.3:2376", tls: {ca: ca.pem, cert: cert.pem, key: key.pem}}',
    '  lo: {endpoint: "unix:///run/lo.sock", address: 127.0.0.1}',
    '  v6: {endpoint: "ssh://root@gpu-6", address: "fd00::6", allow-open-models: true}',
    '  plain: {endpoint: "tcp://10.0.0.9:2375"}',
    '  tunnel: {endpoint: "tcp://127.0.0.1:2375", address: 10.0.0.8}',
    'models:',
    '  a: {model: x, gpus: none}',
    '  b1: {model: x, gpus: none, host: b}',
    '  b2: {model: x, gpus: none, host: b, api-key: "${K}"}',
    '  c1: {model: x, gpus: none, host: c, api-key: "${K}"}',
    '  l1: {model: x, gpus: none, host: lo}',
    '  six: {model: x, gpus: none, host: v6}',
  ].join('\n'),
);
const host = (name: string) => CONFIG.hosts.find((h) => h.name === name)!;
const published = (port: number) => ({ address: '10.0.0.2', port });

describe('where the gateway and Prometheus reach a model', () => {
  it('on the default host: its name on the stack network; on another: the host\'s address and the published port', () => {
    expect(containerAddress(CONFIG, { name: 'inference-a' })).toBe('inference-a:8000');
    expect(containerAddress(CONFIG, { name: 'inference-a', host: 'local' })).toBe('inference-a:8000');
    expect(containerAddress(CONFIG, { name: 'inference-b1', host: 'b', published: published(32801) })).toBe('10.0.0.2:32801');
    expect(containerApiBase(CONFIG, { name: 'inference-b1', host: 'b', published: published(32801) })).toBe('http://10.0.0.2:32801/v1');
    // The address defaults to the endpoint's host name; IPv6 in brackets.
    expect(containerAddress(CONFIG, { name: 'inference-c1', host: 'c', published: { address: '10.0.0.3', port: 1 } })).toBe('10.0.0.3:1');
    expect(containerAddress(CONFIG, { name: 'inference-six', host: 'v6', published: { address: 'fd00::6', port: 2 } })).toBe('[fd00::6]:2');
    // Published nowhere: not reachable from the gateway.
    expect(containerAddress(CONFIG, { name: 'inference-b1', host: 'b' })).toBeUndefined();
    expect(shownApiBase(CONFIG, 'inference-b1', 'b')).toBe('http://10.0.0.2:?/v1');
  });

  it('the gateway routes to a model of another host at that address, and to none that publishes nothing', () => {
    const container = (name: string, key: string, hostName: string, port?: number) =>
      ({ id: name, name, key, host: hostName, ...(port ? { published: published(port) } : {}) }) as never;
    const d = desiredDeployments(CONFIG, [container('inference-a', 'a', 'local'), container('inference-b2', 'b2', 'b', 32802), container('inference-b1', 'b1', 'b')], 'config');
    expect(d).toEqual([
      { name: 'inference-a', modelKey: 'a', apiBase: 'http://inference-a:8000/v1', servedModelName: 'x' },
      { name: 'inference-b2', modelKey: 'b2', apiBase: 'http://10.0.0.2:32802/v1', servedModelName: 'x', apiKey: 'os.environ/INFERSTACK_VLLM_KEY_B2' },
    ]);
  });
});

describe('hosts', () => {
  it('models publish on their host\'s address, not on the default host', () => {
    expect(hasSeveralHosts(CONFIG)).toBe(true);
    expect(hasSeveralHosts(load('models:\n  a: {model: x}\n'))).toBe(false);
    expect(publishAddress(host('local'))).toBeUndefined();
    expect(publishAddress(host('b'))).toBe('10.0.0.2');
    expect(publishAddress(host('c'))).toBe('10.0.0.3');
  });

  it('names the models open on purpose (allow-open-models: true), and Docker APIs reached without TLS', () => {
    expect(exposureWarnings(CONFIG)).toEqual([
      'model "b1" on host b is published on 10.0.0.2 without an api-key (allow-open-models: true): anyone who reaches 10.0.0.2 can use it',
      'model "six" on host v6 is published on fd00::6 without an api-key (allow-open-models: true): anyone who reaches fd00::6 can use it',
      ...insecureTransportWarnings(CONFIG),
    ]);
    // tcp:// without tls: on another machine's address only (a loopback one is a tunnel: nothing crosses the network).
    expect(insecureTransportWarnings(CONFIG)).toEqual([
      "host plain: its Docker API (tcp://10.0.0.9:2375) has no tls: every container body crosses the network in clear text, the HF token and API keys included, and whoever reaches the port controls the daemon (add tls: {ca, cert, key} for a daemon with --tlsverify, or use ssh://)",
    ]);
  });

  it('the default host reached as DOCKER_HOST=tcp:// without DOCKER_TLS_VERIFY is no better', () => {
    const one = load('models:\n  a: {model: x}\n');
    expect(insecureTransportWarnings(one, { DOCKER_HOST: 'tcp://10.0.0.1:2375' })).toEqual([
      "the default host: its Docker API (DOCKER_HOST=tcp://10.0.0.1:2375) has no TLS: every container body crosses the network in clear text, the HF token and API keys included, and whoever reaches the port controls the daemon (set DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH, or use ssh://)",
    ]);
    expect(insecureTransportWarnings(one, { DOCKER_HOST: 'tcp://10.0.0.1:2376', DOCKER_TLS_VERIFY: '1' })).toEqual([]);
    expect(insecureTransportWarnings(one, { DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual([]);
    expect(insecureTransportWarnings(one, {})).toEqual([]);
  });

  it('a host that cannot be asked keeps the routes of its models; a host\'s own key rehashes only its models', () => {
    expect([...keptModels(CONFIG, new Set(['b']))]).toEqual(['b1', 'b2']);
    expect(keptModels(CONFIG, new Set()).size).toBe(0);
    const same = modelsOnHost(CONFIG.models, 'b', 'k', 'k');
    expect(same.map((m) => m.key)).toEqual(['b1', 'b2']);
    expect(same[0]?.specHash).toBe(CONFIG.models[1]?.specHash);
    const other = modelsOnHost(CONFIG.models, 'b', 'another key', 'k');
    // b2 has a secret (its api-key): its keyed hash changes with the key.
    expect(other[1]?.specHash).not.toBe(CONFIG.models[2]?.specHash);
  });

  it('the exporters on another host publish on its address only, on a port Docker picks', () => {
    const b = host('b') as ReturnType<typeof host> & { address: string };
    expect(nodeExporterService.onOtherHosts?.spec(CONFIG, b).ports).toEqual([{ container: 9100, host: 0, hostIp: '10.0.0.2' }]);
    expect(dcgmExporterService.onOtherHosts?.spec(CONFIG, b).ports).toEqual([{ container: 9400, host: 0, hostIp: '10.0.0.2' }]);
    // The DCGM exporter runs where the host has GPUs (unless configured).
    expect(dcgmExporterService.onOtherHosts?.wanted?.(CONFIG, 'unavailable')).toBe(false);
    expect(dcgmExporterService.onOtherHosts?.wanted?.(CONFIG, [{ index: 0 } as never])).toBe(true);
  });
});
