import { DEFAULT_VLLM_IMAGE, parseConfig, parseEnvFile } from '@inferstack/config';
import { modelContainerOptions, serviceContainerOptions, serviceSpecHash } from '@inferstack/docker-ops';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { secretValues } from '../../secrets.js';
import { composeYaml, renderCompose, type ComposeFile } from './render.js';
import { databaseServiceSpec, gatewayServiceSpec } from '../../services/gateway.js';
import { dcgmSpec, grafanaSpec, nodeExporterSpec, prometheusSpec } from '../../services/monitoring.js';

const SETTINGS = {
  HF_TOKEN: 'hf_secret_token_value_123456',
  LITELLM_MASTER_KEY: 'sk-master-0123456789abcdef0123456789abcdef',
  LITELLM_SALT_KEY: 'sk-salt-0123456789abcdef0123456789abcdef',
  QWEN_API_KEY: 'qwen-vllm-key-0123456789abcdef',
  HUGGINGFACE_CACHE: '/srv/hf',
};

/** A reference-tool .env with every name it knows (fake secrets, images other than our defaults). */
const REFERENCE_ENV = `HF_TOKEN=hf_reference_token_0123456789
VLLM_IMAGE=vllm/vllm-openai:v0.19.1
LITELLM_IMAGE=ghcr.io/berriai/litellm:v1.84.1
LITELLM_MASTER_KEY=sk-reference-master-0123456789
LITELLM_SALT_KEY=sk-reference-salt-0123456789
LITELLM_USERNAME=ops
LITELLM_PASSWORD=reference-ui-password-0123456789
POSTGRES_IMAGE=postgres:16.9-alpine
POSTGRES_PASSWORD=reference-db-password-0123456789
PROMETHEUS_IMAGE=prom/prometheus:v3.4.2
NODE_EXPORTER_IMAGE=quay.io/prometheus/node-exporter:v1.10.2
DCGM_EXPORTER_IMAGE=nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.3.0-ubuntu22.04
DCGM_REMOTE_HOSTENGINE_INFO=host.docker.internal:5555
DCGM_EXPORTER_DEVICES_STR=g:0-1
DCGM_EXPORTER_INTERVAL=15000
GRAFANA_IMAGE=grafana/grafana:12.3.0
GRAFANA_ADMIN_USER=grafana-ops
GRAFANA_ADMIN_PASSWORD=reference-grafana-password-0123456789
`;

const MODELS = `
gateway:
  bind: 0.0.0.0
  port: 18000
monitoring:
  grafana: {enabled: false}
  dcgm-exporter: {enabled: false}
models:
  - big:
      model: Qwen/Qwen3-32B
      gpus: [0, 1]
      tensor-parallel-size: 2
      cpuset-cpus: "0-7"
      shm-size: 16g
      gpu-memory-utilization: 0.5
      api-key: "\${QWEN_API_KEY}"
      chat-template: "{{ '$' }}{messages}"
      volumes: ["models:/models:ro"]
  - org/small:
      model: Qwen/Qwen3-0.6B
      gpus: [1]
      gpu-memory-utilization: 0.4
      max-model-len: 4096
      env: {VLLM_LOGGING_LEVEL: DEBUG}
`;

function setup(yaml = MODELS, settings: Record<string, string> = SETTINGS) {
  const config = parseConfig(yaml, { file: '/p/model_config/models.yaml', projectDir: '/p', homeDir: '/home/u', settings, hashKey: 'k' });
  const services = [gatewayServiceSpec(config, { modelKeysInEnv: true }), nodeExporterSpec(config), prometheusSpec(config)];
  const rendered = renderCompose(config, { services, hashKey: 'k', extraLabels: { 'test.session': 's1' } });
  const text = composeYaml(rendered, { source: 'model_config/models.yaml', envFile: '.env', secretValues: secretValues(config) });
  return { config, services, rendered, text, parsed: parseYaml(text) as ComposeFile };
}

describe('renderCompose', () => {
  it('gives each model exactly the command, labels, GPUs, cpuset, shm and IPC of serve up', () => {
    const { config, parsed } = setup();
    expect(Object.keys(parsed.services)).toEqual(['litellm', 'node-exporter', 'prometheus', 'inference-big', 'inference-org--small']);
    for (const spec of config.models) {
      const create = modelContainerOptions(spec, { network: config.network, argvStyle: 'api-server', extraLabels: { 'test.session': 's1' } });
      const s = parsed.services[spec.containerName]!;
      expect(s.container_name).toBe(create.name);
      expect(s.image).toBe(create.Image);
      // `$` is doubled for compose, which turns `$$` back into `$`.
      expect(s.command!.map((a) => a.replaceAll('$$', '$'))).toEqual(create.Cmd);
      expect(s.labels).toEqual(create.Labels);
      expect(s.labels!['inference.managed']).toBe('true');
      expect(s.ipc).toBe('host');
      expect(s.cpuset).toBe(create.HostConfig?.CpusetCpus);
      expect(s.shm_size).toBe(create.HostConfig?.ShmSize);
      expect(s.volumes).toEqual(create.HostConfig?.Binds);
      const devices = s.deploy!.resources!.reservations.devices;
      expect(devices).toEqual([{ driver: 'nvidia', device_ids: create.HostConfig!.DeviceRequests![0]!.DeviceIDs, capabilities: ['gpu'] }]);
      expect(s.healthcheck).toEqual({ test: ['CMD', 'curl', '-fsS', 'http://localhost:8000/health'], interval: '5s', timeout: '3s', retries: 3, start_period: '3600s' });
      expect(s.networks).toEqual({ inference_default: {} });
      expect(s.expose).toEqual(['8000']);
    }
    const big = parsed.services['inference-big']!;
    expect(big.deploy!.resources!.reservations.devices[0]!.device_ids).toEqual(['0', '1']);
    expect(big.cpuset).toBe('0-7');
    expect(big.shm_size).toBe(16 * 1024 ** 3);
    expect(big.command).toContain("{{ '$$' }}{messages}");
    expect(parsed.services['inference-org--small']!.environment).toMatchObject({ VLLM_LOGGING_LEVEL: 'DEBUG', HF_HOME: '/root/.cache/huggingface', VLLM_NO_USAGE_STATS: '1' });
  });

  it('writes no secret: each becomes a ${NAME} that compose reads from .env', () => {
    const { text, parsed, rendered } = setup();
    for (const value of Object.values(SETTINGS).filter((v) => v !== SETTINGS.HUGGINGFACE_CACHE)) expect(text).not.toContain(value);
    expect(parsed.services['inference-big']!.environment).toMatchObject({ HF_TOKEN: '${HF_TOKEN}', VLLM_API_KEY: '${QWEN_API_KEY}' });
    expect(parsed.services.litellm!.environment).toMatchObject({
      LITELLM_MASTER_KEY: '${LITELLM_MASTER_KEY}',
      LITELLM_SALT_KEY: '${LITELLM_SALT_KEY}',
      INFERSTACK_VLLM_KEY_BIG: '${QWEN_API_KEY}',
    });
    expect(rendered.secrets.map((s) => [s.name, s.inSettings])).toEqual([
      ['HF_TOKEN', true],
      ['LITELLM_MASTER_KEY', true],
      ['LITELLM_SALT_KEY', true],
      ['QWEN_API_KEY', true],
    ]);
    expect(rendered.secrets.find((s) => s.name === 'QWEN_API_KEY')!.usedBy).toEqual(['litellm', 'inference-big']);
    expect(text.split('\n')[1]).toContain('${HF_TOKEN}, ${LITELLM_MASTER_KEY}, ${LITELLM_SALT_KEY}, ${QWEN_API_KEY}');
  });

  it('names a key written into models.yaml itself after the gateway variable, and says .env lacks it', () => {
    const yaml = MODELS.replace('"${QWEN_API_KEY}"', 'literal-key-in-models-yaml-0123456789');
    const { text, parsed, rendered } = setup(yaml);
    expect(text).not.toContain('literal-key-in-models-yaml');
    expect(parsed.services['inference-big']!.environment!.VLLM_API_KEY).toBe('${INFERSTACK_VLLM_KEY_BIG}');
    expect(parsed.services.litellm!.environment!.INFERSTACK_VLLM_KEY_BIG).toBe('${INFERSTACK_VLLM_KEY_BIG}');
    expect(rendered.secrets.find((s) => s.name === 'INFERSTACK_VLLM_KEY_BIG')).toEqual({ name: 'INFERSTACK_VLLM_KEY_BIG', usedBy: ['litellm', 'inference-big'], inSettings: false });
  });

  it('publishes the gateway on the configured bind address and Prometheus on loopback, as serve up does', () => {
    const { parsed, services } = setup();
    const gw = serviceContainerOptions(services[0]!, serviceSpecHash(services[0]!, 'k'), { 'test.session': 's1' });
    const litellm = parsed.services.litellm!;
    expect(litellm.ports).toEqual([{ target: 4000, published: '18000', host_ip: '0.0.0.0', protocol: 'tcp' }]);
    expect(litellm.command).toEqual(gw.Cmd);
    expect(litellm.labels).toEqual(gw.Labels);
    expect(litellm.volumes).toEqual(['/p/litellm:/etc/litellm:ro']);
    expect(litellm.restart).toBe('unless-stopped');
    expect(parsed.services.prometheus!.ports).toEqual([{ target: 9090, published: '9090', host_ip: '127.0.0.1', protocol: 'tcp' }]);
    expect(parsed.services.prometheus!.networks).toEqual({ inference_default: { aliases: ['prometheus'] } });
    expect(parsed.services.prometheus!.user).toBe('0:0');
    expect(parsed.networks).toEqual({ inference_default: { name: 'inference_default' } });
    // Named volumes keep their own names (no compose project prefix), like serve up's.
    expect(parsed.volumes).toEqual({ models: { name: 'models' }, 'prometheus-data': { name: 'prometheus-data' } });
  });

  it('starts models that share a GPU one after another, and uses the image entrypoint style when known', () => {
    const config = parseConfig(MODELS, { file: '/p/model_config/models.yaml', projectDir: '/p', settings: SETTINGS });
    const { compose } = renderCompose(config, { services: [], hashKey: 'k', argvStyles: new Map([[DEFAULT_VLLM_IMAGE, 'serve']]) });
    expect(compose.services['inference-big']!.depends_on).toBeUndefined();
    expect(compose.services['inference-org--small']!.depends_on).toEqual({ 'inference-big': { condition: 'service_healthy' } });
    expect(compose.services['inference-org--small']!.command!.slice(0, 2)).toEqual(['Qwen/Qwen3-0.6B', '--port']);
    const all = parseConfig('models:\n  - a: {model: m/a, gpus: all}\n  - b: {model: m/b, gpus: none}\n', { file: '/p/models.yaml', settings: {} });
    const out = renderCompose(all, { services: [], hashKey: 'k' }).compose;
    expect(out.services['inference-a']!.deploy!.resources!.reservations.devices).toEqual([{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }]);
    expect(out.services['inference-b']!.deploy).toBeUndefined();
    expect(out.services['inference-b']!.depends_on).toBeUndefined();
    expect(out.services['inference-a']!.command!.slice(0, 2)).toEqual(['--model', 'm/a']);
  });

  it("runs the images, DCGM settings and logins of a reference-tool .env, its secrets only as ${...}", () => {
    const env = parseEnvFile(REFERENCE_ENV, '.env');
    expect(env.issues).toEqual([]);
    const config = parseConfig('gateway: {sync: api}\nmodels:\n  - qwen: {model: Qwen/Qwen3-4B, gpus: [0]}\n', {
      file: '/p/model_config/models.yaml',
      projectDir: '/p',
      homeDir: '/home/u',
      settings: env.values,
      hashKey: 'k',
    });
    const services = [gatewayServiceSpec(config, { modelKeysInEnv: true }), databaseServiceSpec(config), prometheusSpec(config), nodeExporterSpec(config), dcgmSpec(config), grafanaSpec(config, '/dashboards')];
    const rendered = renderCompose(config, { services, hashKey: 'k' });
    const text = composeYaml(rendered, { source: 'model_config/models.yaml', envFile: '.env', secretValues: secretValues(config) });
    const { services: s } = parseYaml(text) as ComposeFile;

    expect(s['inference-qwen']!.image).toBe('vllm/vllm-openai:v0.19.1');
    expect(s.litellm!.image).toBe('ghcr.io/berriai/litellm:v1.84.1');
    expect(s.litellm!.environment).toMatchObject({ UI_USERNAME: 'ops', UI_PASSWORD: '${LITELLM_PASSWORD}', LITELLM_MASTER_KEY: '${LITELLM_MASTER_KEY}' });
    expect(s['litellm-db']!.image).toBe('postgres:16.9-alpine');
    expect(s['litellm-db']!.environment).toMatchObject({ POSTGRES_PASSWORD: '${POSTGRES_PASSWORD}' });
    expect(s.prometheus!.image).toBe('prom/prometheus:v3.4.2');
    expect(s['node-exporter']!.image).toBe('quay.io/prometheus/node-exporter:v1.10.2');
    expect(s['dcgm-exporter']).toMatchObject({
      image: 'nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.3.0-ubuntu22.04',
      environment: { DCGM_REMOTE_HOSTENGINE_INFO: 'host.docker.internal:5555', DCGM_EXPORTER_DEVICES_STR: 'g:0-1', DCGM_EXPORTER_INTERVAL: '15000' },
      extra_hosts: ['host.docker.internal:host-gateway'],
      deploy: { resources: { reservations: { devices: [{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }] } } },
    });
    expect(s.grafana!.image).toBe('grafana/grafana:12.3.0');
    expect(s.grafana!.environment).toMatchObject({ GF_SECURITY_ADMIN_USER: 'grafana-ops', GF_SECURITY_ADMIN_PASSWORD: '${GRAFANA_ADMIN_PASSWORD}' });

    for (const [name, value] of Object.entries(env.values)) if (/PASSWORD|_KEY$|_TOKEN$/.test(name)) expect(text, name).not.toContain(value);
    expect(rendered.secrets.map((r) => r.name)).toEqual(
      expect.arrayContaining(['GRAFANA_ADMIN_PASSWORD', 'HF_TOKEN', 'LITELLM_MASTER_KEY', 'LITELLM_PASSWORD', 'LITELLM_SALT_KEY', 'POSTGRES_PASSWORD']),
    );
  });

  it('runs a model with replicas as one service of that many containers, without a container_name; one that scales as max(min, 1)', () => {
    const yaml = `models:
  - fixed: {model: x/fixed, gpus: [0], gpu-memory-utilization: 0.3, replicas: 3}
  - scaling: {model: x/scaling, gpus: auto, replicas: {min: 2, max: 4}}
  - zero: {model: x/zero, gpus: none, idle: {after: 10m}, replicas: {min: 0, max: 2}}
  - one: {model: x/one, gpus: none, replicas: 1}
`;
    const { parsed, text, config } = setup(yaml);
    const fixed = parsed.services['inference-fixed']!;
    // Compose refuses container_name with more than one replica; the service keeps the gateway's name.
    expect(fixed.container_name).toBeUndefined();
    expect(fixed.deploy).toEqual({ replicas: 3, resources: { reservations: { devices: [{ driver: 'nvidia', device_ids: ['0'], capabilities: ['gpu'] }] } } });
    expect(fixed.labels).toEqual(modelContainerOptions(config.models[0]!, { network: config.network, argvStyle: 'api-server', extraLabels: { 'test.session': 's1' } }).Labels);
    expect(parsed.services['inference-scaling']!.container_name).toBeUndefined();
    expect(parsed.services['inference-scaling']!.deploy).toEqual({ replicas: 2, resources: { reservations: { devices: [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }] } } });
    expect(parsed.services['inference-zero']!.deploy).toEqual({ replicas: 1 });
    expect(parsed.services['inference-zero']!.container_name).toBeUndefined();
    // One replica: as before, a fixed name and no deploy.
    expect(parsed.services['inference-one']!.container_name).toBe('inference-one');
    expect(parsed.services['inference-one']!.deploy).toBeUndefined();

    // The file says why, above each such service, and that Compose does not autoscale.
    const above = (service: string) => {
      const lines = text.split('\n');
      const at = lines.indexOf(`  ${service}:`);
      let from = at;
      while (lines[from - 1]?.startsWith('  #')) from--;
      return lines.slice(from, at).join('\n');
    };
    expect(above('inference-fixed')).toContain('  # 3 replicas (replicas: 3).');
    expect(above('inference-fixed')).toContain('No container_name: Compose names the containers <project>-inference-fixed-1, -2, ...; the name inference-fixed');
    expect(above('inference-scaling')).toContain("replicas: {min: 2, max: 4}: Compose does not autoscale (serve's watcher does, on plain Docker).");
    expect(above('inference-scaling')).toContain('It runs 2 (max(min, 1)); more by hand: docker compose up -d --scale inference-scaling=N (N up to 4).');
    expect(above('inference-scaling')).toContain('Each asks for 1 GPU (count), and Docker gives each the first GPU;');
    expect(above('inference-zero')).toContain('It runs 1 (max(min, 1))');
    expect(above('inference-one')).toBe('');
    expect(text.split('\n').slice(0, 8).join('\n')).toContain('A model with replicas is one service of several containers');
  });

  it('replicas: 1 gives the file of today', () => {
    expect(setup(MODELS.replace('max-model-len: 4096', 'max-model-len: 4096\n      replicas: 1')).text).toBe(setup().text);
    expect(setup().text).not.toContain('replicas');
  });

  it('refuses to return text that holds a secret value', () => {
    const { rendered } = setup();
    const leaky = structuredClone(rendered);
    leaky.compose.services['inference-big']!.labels!.oops = SETTINGS.HF_TOKEN;
    expect(() => composeYaml(leaky, { source: 'm', envFile: '.env', secretValues: [SETTINGS.HF_TOKEN] })).toThrow(/secret/);
  });
});
