import { parseConfig } from '@inferstack/config';
import { describe, expect, it } from 'vitest';
import { dcgmSpec, grafanaSpec, nodeExporterSpec, prometheusSpec } from './monitoring.js';

const load = (yaml: string, settings: Record<string, string> = {}) => parseConfig(yaml, { file: '/p/model_config/models.yaml', projectDir: '/p', settings });
const MODELS = 'models:\n  a: {model: x, gpus: none}\n';

describe('the DCGM exporter', () => {
  it('runs its own DCGM engine by default, on every GPU, with the documented device selection and interval', () => {
    const spec = dcgmSpec(load(MODELS));
    expect(spec).toMatchObject({ image: 'nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04', gpus: true });
    // The exporter switches to a remote engine when DCGM_REMOTE_HOSTENGINE_INFO exists at all.
    expect(spec.env).toEqual({ DCGM_EXPORTER_DEVICES_STR: 'f', DCGM_EXPORTER_INTERVAL: '30000' });
    expect(spec.extraHosts).toBeUndefined();
  });

  it("connects to the Docker host's nv-hostengine through host.docker.internal, which Linux needs as an extra host", () => {
    const spec = dcgmSpec(load(MODELS, { DCGM_REMOTE_HOSTENGINE_INFO: 'host.docker.internal:5555', DCGM_EXPORTER_DEVICES_STR: 'g:0,2', DCGM_EXPORTER_INTERVAL: '10000', DCGM_EXPORTER_IMAGE: 'nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.3.0-ubuntu22.04' }));
    expect(spec.env).toEqual({ DCGM_REMOTE_HOSTENGINE_INFO: 'host.docker.internal:5555', DCGM_EXPORTER_DEVICES_STR: 'g:0,2', DCGM_EXPORTER_INTERVAL: '10000' });
    expect(spec.extraHosts).toEqual(['host.docker.internal:host-gateway']);
    expect(spec.image).toBe('nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.3.0-ubuntu22.04');
    // NVML still comes from the GPU request (exporter 4.4 initialises it in every mode).
    expect(spec.gpus).toBe(true);
    const other = dcgmSpec(load('monitoring: {dcgm-exporter: {remote-hostengine: "10.1.2.3:5555"}}\n' + MODELS));
    expect(other.env?.DCGM_REMOTE_HOSTENGINE_INFO).toBe('10.1.2.3:5555');
    expect(other.extraHosts).toBeUndefined();
  });
});

describe('the monitoring images and Grafana login', () => {
  it('runs the images and the admin user of the .env', () => {
    const config = load(MODELS, {
      PROMETHEUS_IMAGE: 'prom/prometheus:v3.4.2',
      NODE_EXPORTER_IMAGE: 'quay.io/prometheus/node-exporter:v1.10.2',
      GRAFANA_IMAGE: 'grafana/grafana:12.3.0',
      GRAFANA_ADMIN_USER: 'grafana-ops',
      GRAFANA_ADMIN_PASSWORD: 'grafana-pass-0123456789',
    });
    expect(prometheusSpec(config).image).toBe('prom/prometheus:v3.4.2');
    expect(nodeExporterSpec(config).image).toBe('quay.io/prometheus/node-exporter:v1.10.2');
    const grafana = grafanaSpec(config, '/dashboards');
    expect(grafana.image).toBe('grafana/grafana:12.3.0');
    expect(grafana.env).toEqual({ GF_USERS_ALLOW_SIGN_UP: 'false', GF_SECURITY_ADMIN_USER: 'grafana-ops' });
    expect(grafana.secretEnv).toEqual({ GF_SECURITY_ADMIN_PASSWORD: 'grafana-pass-0123456789' });
  });

  it("keeps Grafana's own admin user when none is configured", () => {
    const grafana = grafanaSpec(load(MODELS), '/dashboards');
    expect(grafana.env).toEqual({ GF_USERS_ALLOW_SIGN_UP: 'false' });
    expect(grafana.image).toBe('grafana/grafana:13.2.3');
    expect(nodeExporterSpec(load(MODELS)).image).toBe('quay.io/prometheus/node-exporter:v1.12.1');
  });
});
