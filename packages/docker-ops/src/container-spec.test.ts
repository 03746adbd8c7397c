import { describe, expect, it } from 'vitest';
import { fakeSpec } from './_fixtures.js';
import { argvStyleForEntrypoint, modelContainerOptions, vllmCommand } from './container-spec.js';

describe('vLLM argv', () => {
  it('follows the image entrypoint', () => {
    expect(argvStyleForEntrypoint(['vllm', 'serve'])).toBe('serve');
    expect(argvStyleForEntrypoint(['python3', '-m', 'vllm.entrypoints.openai.api_server'])).toBe('api-server');
    expect(argvStyleForEntrypoint(undefined)).toBe('api-server');
    const spec = fakeSpec('a');
    expect(vllmCommand(spec, 'serve')).toEqual(['org/a', '--port', '8000', '--host', '0.0.0.0', '--max-model-len', '4096']);
    expect(vllmCommand(spec, 'api-server')).toEqual(['--model', 'org/a', '--port', '8000', '--host', '0.0.0.0', '--max-model-len', '4096']);
  });
});

describe('modelContainerOptions', () => {
  it('builds what the reference docker run did, in Engine API terms', () => {
    const spec = fakeSpec('org/m', { gpus: { kind: 'devices', indices: [0, 1] }, cpusetCpus: '0-3', shmSizeBytes: 8 * 1024 ** 3 });
    const opts = modelContainerOptions(spec, { network: 'inference_default', argvStyle: 'serve' });
    expect(opts.name).toBe('inference-org--m');
    expect(opts.HostConfig).toMatchObject({
      IpcMode: 'host',
      NetworkMode: 'inference_default',
      CpusetCpus: '0-3',
      ShmSize: 8 * 1024 ** 3,
      Binds: ['/data/hf:/root/.cache/huggingface'],
      DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: ['0', '1'], Capabilities: [['gpu']] }],
    });
    expect(opts.Env).toContain('HF_TOKEN=hf_secret');
    expect(opts.Labels).toMatchObject({ 'inference.managed': 'true', 'inference.model': 'org/m' });
    expect(opts.Healthcheck?.Test).toEqual(['CMD', 'curl', '-fsS', 'http://localhost:8000/health']);
  });

  it('asks for all GPUs with Count -1 and for none with no device request', () => {
    const all = modelContainerOptions(fakeSpec('a', { gpus: { kind: 'all' } }), { network: 'n', argvStyle: 'serve' });
    expect(all.HostConfig?.DeviceRequests).toEqual([{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
    const none = modelContainerOptions(fakeSpec('a', { gpus: { kind: 'none' } }), { network: 'n', argvStyle: 'serve' });
    expect(none.HostConfig?.DeviceRequests).toBeUndefined();
  });

  it('gives a gpus: auto model the GPUs placement chose, and says so in its gpus label', () => {
    const spec = fakeSpec('a', { gpus: { kind: 'auto', count: 2 } });
    const placed = modelContainerOptions(spec, { network: 'n', argvStyle: 'serve', gpuDevices: [3, 5] });
    expect(placed.HostConfig?.DeviceRequests).toEqual([{ Driver: 'nvidia', DeviceIDs: ['3', '5'], Capabilities: [['gpu']] }]);
    expect(placed.Labels?.['inferstack.gpus']).toBe('3,5');
    // Unplaced (the exports: Compose and Kubernetes let the platform pick): a count.
    const counted = modelContainerOptions(spec, { network: 'n', argvStyle: 'serve' });
    expect(counted.HostConfig?.DeviceRequests).toEqual([{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }]);
    expect(counted.Labels?.['inferstack.gpus']).toBe('auto:2');
    // Where it was placed is not part of what decides whether it is up to date.
    expect(placed.Labels?.['inferstack.spec-hash']).toBe(counted.Labels?.['inferstack.spec-hash']);
    expect(placed.Labels?.['inferstack.spec-fields']).toBe(counted.Labels?.['inferstack.spec-fields']);
  });

  it('refuses a placement that is not as many GPUs as the model asks for', () => {
    const spec = fakeSpec('a', { gpus: { kind: 'auto', count: 2 } });
    expect(() => modelContainerOptions(spec, { network: 'n', argvStyle: 'serve', gpuDevices: [3] })).toThrow(/2 GPUs/);
    expect(() => modelContainerOptions(fakeSpec('b'), { network: 'n', argvStyle: 'serve', gpuDevices: [3] })).toThrow(/gpus: auto/);
  });

  it('never puts a secret in labels or the command line', () => {
    const spec = fakeSpec('a', { secretEnv: { HF_TOKEN: 'hf_topsecret', VLLM_API_KEY: 'sk-vllm-secret' }, apiKey: 'sk-vllm-secret' });
    const opts = modelContainerOptions(spec, { network: 'n', argvStyle: 'serve', extraLabels: { 'inferstack.test': 's1' } });
    const visible = JSON.stringify([opts.Labels, opts.Cmd]);
    expect(visible).not.toContain('hf_topsecret');
    expect(visible).not.toContain('sk-vllm-secret');
    expect(opts.Labels?.['inferstack.test']).toBe('s1');
  });
});

describe('a model for a gateway on another host', () => {
  it('publishes vLLM\'s port on the host\'s address only, on a port Docker picks', () => {
    const spec = fakeSpec('remote');
    const options = modelContainerOptions(spec, { network: 'n', argvStyle: 'serve', publishOn: '172.31.250.1' });
    expect(options.HostConfig?.PortBindings).toEqual({ '8000/tcp': [{ HostIp: '172.31.250.1', HostPort: '' }] });
    expect(modelContainerOptions(spec, { network: 'n', argvStyle: 'serve' }).HostConfig?.PortBindings).toBeUndefined();
  });
});
