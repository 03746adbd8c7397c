// `serve export kubernetes` against the real things: every object it writes passes offline schema
// validation, kustomize builds the directory, the real kube-apiserver accepts every built object
// under strict field validation (dry run, then stored and read back with the same spec), the
// real LiteLLM started from the exported gateway pod routes to the model Services by name (and the
// vLLM stand-ins started from the model pods answer through it), and the real Prometheus 3 finds
// the model Services through the exported kubernetes_sd configuration, asking the API server.
// Fails, never skips, when a binary or an image is missing.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { openStack, type KubernetesExport, type KubernetesExportOptions } from '../../packages/stack/src/index.js';
import { containerLogs, docker, removeContainers, sessionLabel, testSession, waitFor, waitForHttp } from '../support/docker.js';
import { type KubeObject, kustomizeBuild, SERVICE_MONITOR_CRD, useKubeApiServer, validateKubernetesObject } from '../support/kube.js';
import { PROMETHEUS_IMAGE } from '../support/prometheus-image.js';
import { LITELLM_IMAGE, freePort } from '../support/stack-project.js';
import { runDeployment, type RunningPod } from './_run-pod.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const session = testSession();
const prefix = `inferstack-test-${session}-k8s`;
const MASTER = `sk-k8s-master-${session}-0123456789`;
const HF = `hf_k8s_token_${session}_0123456789`;
const SECURED = `secured-vllm-key-${session}-0123456789`;
const GRAFANA = `grafana-admin-${session}-0123456789`;

const kube = useKubeApiServer({ crds: [SERVICE_MONITOR_CRD] });
const dirs: string[] = [];
const containers: string[] = [];
afterAll(async () => {
  await removeContainers(containers);
  await docker(['network', 'rm', `${prefix}-net`], { allowFail: true });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * The exported gateway runs LiteLLM in one process (no gunicorn: nothing forks it), with
 * inferstack's plugin from the same ConfigMap as its config. The wait ends well inside the
 * test's own budget, so a gateway that never becomes ready fails with its state and last log
 * lines.
 */
const GATEWAY_WAIT_MS = 150_000;
const GATEWAY_TEST_MS = GATEWAY_WAIT_MS + 90_000;
async function waitForGateway(url: string, id: string): Promise<void> {
  const t0 = Date.now();
  await waitForHttp(url, { timeoutMs: GATEWAY_WAIT_MS, intervalMs: 500 }).catch(async (e: unknown) => {
    const state = await docker(['inspect', '-f', '{{json .State}}', id], { allowFail: true });
    throw new Error(`LiteLLM did not start: ${String(e)}\nstate: ${state.stdout.trim()}\n${(await containerLogs(id)).slice(-3000)}`);
  });
  console.log(`LiteLLM ready after ${Date.now() - t0} ms`);
  // Its plugin loaded from the ConfigMap beside the config (the config names it).
  const state = await fetch(new URL('/inferstack/state', url), { headers: { authorization: `Bearer ${MASTER}` } });
  expect(state.status, await state.clone().text()).toBe(200);
}

/** A project directory named `name` (the stack's name) with models.yaml and .env. */
function project(name: string, models: string, env: string): string {
  const root = mkdtempSync(join(tmpdir(), 'inferstack-k8s-'));
  dirs.push(root);
  const dir = join(root, name);
  mkdirSync(join(dir, 'model_config'), { recursive: true });
  writeFileSync(join(dir, 'model_config', 'models.yaml'), models);
  writeFileSync(join(dir, '.env'), env, { mode: 0o600 });
  return dir;
}

async function exportTo(dir: string, outDir: string, options: KubernetesExportOptions = {}): Promise<KubernetesExport> {
  const stack = await openStack({ cwd: dir, env: { PATH: process.env.PATH, HOME: dir, DOCKER_HOST: 'tcp://127.0.0.1:1' } });
  return stack.exportKubernetes({ ...options, outDir });
}

/** The objects of the export's YAML files (not kustomization.yaml, not the files ConfigMaps are made from). */
function objectFiles(r: KubernetesExport): KubeObject[] {
  return r.files
    .filter((f) => f.path.endsWith('.yaml') && f.path !== 'kustomization.yaml' && !f.path.startsWith('files/'))
    .flatMap((f) => parseAllDocuments(f.text).map((d) => d.toJS() as KubeObject));
}

/** Every file of a directory, by relative path. */
function readTree(dir: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) for (const [k, v] of readTree(dir, path)) out.set(k, v);
    else out.set(path, readFileSync(join(dir, path), 'utf8'));
  }
  return out;
}

/** What the API server keeps of a sent object's content: the sent fields must all come back. */
function expectStoredAsSent(sent: KubeObject, stored: KubeObject | undefined): void {
  expect(stored, `${sent.kind}/${sent.metadata.name}`).toBeDefined();
  // The server adds a label or two of its own (a Namespace's kubernetes.io/metadata.name).
  expect(stored!.metadata.labels ?? {}).toMatchObject(sent.metadata.labels ?? {});
  expect(stored!.metadata.annotations ?? {}).toMatchObject(sent.metadata.annotations ?? {});
  for (const [field, value] of Object.entries(sent)) {
    if (field === 'apiVersion' || field === 'kind' || field === 'metadata') continue;
    if (field === 'stringData') {
      // Written as stringData, stored as base64 data.
      const data = (stored as any).data as Record<string, string>;
      expect(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))).toEqual(value);
      continue;
    }
    expect((stored as any)[field], `${sent.kind}/${sent.metadata.name} ${field}`).toMatchObject(value as object);
  }
}

/** Validate offline, dry-run (strict) every object, then apply them in kustomize's order and read each back. */
async function applyAll(objects: readonly KubeObject[]): Promise<void> {
  for (const o of objects) expect(validateKubernetesObject(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
  // The namespace first: a dry run of a namespaced object needs it to exist.
  for (const o of objects.filter((x) => x.kind === 'Namespace')) await kube().apply(o);
  for (const o of objects) await kube().apply(o, { dryRun: true });
  for (const o of objects) await kube().apply(o);
  for (const o of objects) expectStoredAsSent(o, await kube().get(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace));
}

const byKind = (objects: readonly KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: readonly KubeObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as any;

describe('the demo config (examples/demo) on Kubernetes', () => {
  let dir: string;
  let out: string;
  let r: KubernetesExport;
  let built: KubeObject[];
  let gateway: RunningPod;

  beforeAll(async () => {
    dir = project('demo', readFileSync(join(repoRoot, 'examples/demo/model_config/models.yaml'), 'utf8'), `LITELLM_MASTER_KEY=${MASTER}\n`);
    out = join(dir, 'k8s');
    const t0 = Date.now();
    r = await exportTo(dir, out);
    console.log(`export of the demo config: ${Date.now() - t0} ms`);
  });

  it('writes a Kustomize directory: a namespace named after the stack, a file per model, the gateway, Prometheus, dashboards', () => {
    expect(r.namespace).toBe('demo');
    expect(r.files.map((f) => f.path)).toEqual([
      'files/grafana/dashboards/gateway.json',
      'files/grafana/dashboards/overview.json',
      'files/grafana/dashboards/system.json',
      'files/grafana/dashboards/vllm.json',
      'files/litellm/config.yaml',
      'files/litellm/inferstack_gateway.py',
      'files/prometheus/prometheus.yml',
      'gateway.yaml',
      'kustomization.yaml',
      'models/inference-demo-chat.yaml',
      'models/inference-demo-code.yaml',
      'namespace.yaml',
      'prometheus.yaml',
    ]);
    expect(readTree(out)).toEqual(new Map(r.files.map((f) => [f.path, f.text])));
    for (const f of r.files) expect(statSync(join(out, f.path)).mode & 0o777, f.path).toBe(0o644);
    expect(r.secrets.map((s) => s.name)).toEqual(['LITELLM_MASTER_KEY']);
    for (const f of r.files) expect(f.text).not.toContain(MASTER);
  });

  it('every object validates offline; kustomize builds the directory; the API server accepts, stores and returns each unchanged', async () => {
    for (const o of objectFiles(r)) expect(validateKubernetesObject(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    const t0 = Date.now();
    built = await kustomizeBuild(out);
    console.log(`kustomize build: ${Date.now() - t0} ms, ${built.length} objects`);
    expect(built[0]!.kind).toBe('Namespace');
    // Generated ConfigMaps: the gateway's and Prometheus' with a content hash, the dashboards stable.
    const maps = byKind(built, 'ConfigMap').map((o) => o.metadata.name);
    expect(maps).toEqual(expect.arrayContaining(['grafana-dashboard-vllm', 'grafana-dashboard-overview']));
    const litellmMap = maps.find((n) => n.startsWith('inferstack-demo-litellm-config-'));
    expect(litellmMap).toMatch(/^inferstack-demo-litellm-config-[a-z0-9]{10}$/);
    // kustomize rewrote the references to the hashed names, also inside the projected volume.
    expect(named(built, 'Deployment', 'inferstack-demo-litellm').spec.template.spec.volumes[0].configMap.name).toBe(litellmMap);
    const promVolume = named(built, 'Deployment', 'inferstack-demo-prometheus').spec.template.spec.volumes[0];
    expect(promVolume.projected.sources[0].configMap.name).toMatch(/^inferstack-demo-prometheus-config-[a-z0-9]{10}$/);
    expect(named(built, 'ConfigMap', 'grafana-dashboard-vllm').metadata.labels).toMatchObject({ grafana_dashboard: '1', 'app.kubernetes.io/part-of': 'demo' });
    for (const o of built) expect(o.metadata.namespace ?? 'demo', `${o.kind}/${o.metadata.name}`).toBe('demo');
    const t1 = Date.now();
    await applyAll(built);
    console.log(`kube-apiserver: ${built.length} objects dry-run, applied and read back in ${Date.now() - t1} ms`);
  });

  it('the model pods are the containers serve up runs: image, args, environment', async () => {
    const { modelContainerOptions } = await import('../../packages/docker-ops/src/index.js');
    const stack = await openStack({ cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
    for (const spec of stack.config.models) {
      const create = modelContainerOptions(spec, { network: stack.config.network, argvStyle: 'api-server' });
      const c = named(built, 'Deployment', spec.containerName).spec.template.spec.containers[0];
      expect(c.image).toBe(create.Image);
      expect(c.args).toEqual(create.Cmd);
      expect(c.env.map((e: { name: string; value: string }) => `${e.name}=${e.value}`)).toEqual(create.Env);
      // The demo's models pull when missing (their weights come from its Hub stand-in).
      expect(spec.pullPolicy).toBe('missing');
      expect(c.imagePullPolicy).toBe('IfNotPresent');
      expect(c.readinessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      // The start-up budget is Docker's health check start period: an hour.
      expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBe(create.Healthcheck!.StartPeriod! / 1e9);
    }
  });

  it('started as its pods say, the real LiteLLM routes to the model Services by name, and the stand-ins answer through it', async () => {
    await docker(['network', 'create', '--label', sessionLabel(session), `${prefix}-net`]);
    const podOptions = { network: `${prefix}-net`, secret: { LITELLM_MASTER_KEY: MASTER }, dirs, prefix };
    const models = await Promise.all(
      byKind(built, 'Deployment')
        .filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'model')
        .map((d) => runDeployment(d, built, podOptions)),
    );
    containers.push(...models.map((m) => m.id));
    gateway = await runDeployment(named(built, 'Deployment', 'inferstack-demo-litellm'), built, podOptions);
    containers.push(gateway.id);
    expect(models.map((m) => m.aliases).sort()).toEqual([['inference-demo-chat'], ['inference-demo-code']]);
    for (const m of models) await waitForHttp(`http://127.0.0.1:${m.ports.get(8000)}/health`, { timeoutMs: 30_000 });
    const gatewayUrl = `http://127.0.0.1:${gateway.ports.get(4000)}`;
    // The path of the gateway's readiness probe.
    const probe = named(built, 'Deployment', 'inferstack-demo-litellm').spec.template.spec.containers[0].readinessProbe.httpGet.path;
    await waitForGateway(`${gatewayUrl}${probe}`, gateway.id);

    const auth = { authorization: `Bearer ${MASTER}` };
    const info = (await (await fetch(`${gatewayUrl}/model/info`, { headers: auth })).json()) as { data: Array<{ model_name: string; litellm_params: { api_base: string } }> };
    expect(info.data.map((e) => [e.model_name, e.litellm_params.api_base]).sort()).toEqual([
      ['demo-coder', 'http://inference-demo-code:8000/v1'],
      ['demo/chat-small', 'http://inference-demo-chat:8000/v1'],
    ]);
    for (const model of ['demo/chat-small', 'demo-coder']) {
      const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 }),
        signal: AbortSignal.timeout(30_000),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(((await res.json()) as { model: string }).model).toContain(model.split('/').pop());
    }
  }, GATEWAY_TEST_MS);

  it("promtool of the Prometheus image accepts the exported prometheus.yml as the pod mounts it", async () => {
    const promDir = await mkdtemp(join(tmpdir(), 'inferstack-k8s-promtool-'));
    dirs.push(promDir);
    await chmod(promDir, 0o755);
    await writeFile(join(promDir, 'prometheus.yml'), r.files.find((f) => f.path === 'files/prometheus/prometheus.yml')!.text, { mode: 0o644 });
    // The key file the projected volume adds from the Secret (promtool checks that it exists).
    await writeFile(join(promDir, 'litellm-key'), 'not-a-key\n', { mode: 0o644 });
    const mount = named(built, 'Deployment', 'inferstack-demo-prometheus').spec.template.spec.containers[0].volumeMounts[0].mountPath;
    const check = await docker(
      ['run', '--rm', '--label', sessionLabel(session), '--network', 'none', '-v', `${promDir}:${mount}:ro`, '--entrypoint', '/bin/promtool', PROMETHEUS_IMAGE, 'check', 'config', `${mount}/prometheus.yml`],
      { allowFail: true },
    );
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.code).toBe(0);
  });

  it('the real Prometheus finds the ready model endpoints of the namespace through the API server, labelled as on Docker', async () => {
    // What the cluster's controllers would add: the pods (scheduled on a node) and the endpoint
    // slices of the Services, whose addresses are the stand-ins started above. Plus a model Service
    // of another stack and an endpoint that is not ready: neither may become a target.
    const ns = r.namespace;
    await kube().apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    const ips = new Map<string, string>();
    for (const name of ['inference-demo-chat', 'inference-demo-code']) {
      const { stdout } = await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${prefix}-net").IPAddress}}`, `${prefix}-${name}`]);
      ips.set(name, stdout.trim());
      const template = named(built, 'Deployment', name).spec.template;
      await kube().apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-pod`, namespace: ns, labels: template.metadata.labels }, spec: { ...template.spec, nodeName: 'gpu-node-1' } });
    }
    const slice = (service: string, endpoints: object[]): KubeObject => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${service}-slice`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8000, protocol: 'TCP' }],
      endpoints,
    } as KubeObject);
    const ready = (service: string) => ({ addresses: [ips.get(service)], conditions: { ready: true }, nodeName: 'gpu-node-1', targetRef: { kind: 'Pod', name: `${service}-pod`, namespace: ns } });
    await kube().apply(slice('inference-demo-chat', [ready('inference-demo-chat')]));
    await kube().apply(slice('inference-demo-code', [ready('inference-demo-code'), { addresses: ['10.255.0.9'], conditions: { ready: false } }]));
    const other = structuredClone(named(built, 'Service', 'inference-demo-chat')) as KubeObject;
    other.metadata = { ...other.metadata, name: 'other-stack-model', labels: { ...other.metadata.labels, 'app.kubernetes.io/part-of': 'another-stack' } };
    await kube().apply(other);
    await kube().apply(slice('other-stack-model', [{ addresses: [ips.get('inference-demo-chat')], conditions: { ready: true } }]));

    // The exported prometheus.yml, pointed at this API server (in a cluster: its service account).
    const config = parseYaml(r.files.find((f) => f.path === 'files/prometheus/prometheus.yml')!.text);
    const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === 'vllm');
    const promDir = await mkdtemp(join(tmpdir(), 'inferstack-k8s-prom-'));
    dirs.push(promDir);
    await chmod(promDir, 0o755);
    await writeFile(join(promDir, 'ca.crt'), kube().ca, { mode: 0o644 });
    // Test-only token of a throwaway API server, readable by Prometheus' user.
    await writeFile(join(promDir, 'token'), kube().token, { mode: 0o644 });
    job.kubernetes_sd_configs[0] = {
      ...job.kubernetes_sd_configs[0],
      api_server: kube().url,
      authorization: { credentials_file: '/etc/k8s/token' },
      tls_config: { ca_file: '/etc/k8s/ca.crt' },
    };
    config.global.scrape_interval = '1s';
    config.scrape_configs = config.scrape_configs.filter((j: { job_name: string }) => j.job_name === 'vllm');
    await writeFile(join(promDir, 'prometheus.yml'), stringify(config), { mode: 0o644 });
    const port = await freePort();
    // Host networking: the API server listens on the host's loopback; the stand-ins' bridge addresses are reachable from there.
    const { stdout } = await docker([
      'run', '-d', '--label', sessionLabel(session), '--name', `${prefix}-prometheus`, '--network', 'host', '-v', `${promDir}:/etc/k8s:ro`,
      PROMETHEUS_IMAGE, '--config.file=/etc/k8s/prometheus.yml', '--storage.tsdb.path=/prometheus', `--web.listen-address=127.0.0.1:${port}`,
    ]);
    const id = stdout.trim();
    containers.push(id);
    const base = `http://127.0.0.1:${port}`;
    const t0 = Date.now();
    type Target = { labels: Record<string, string>; health: string; lastError: string };
    const targets = await waitFor(
      'both model targets up',
      async () => {
        const res = await fetch(`${base}/api/v1/targets`).catch(() => undefined);
        if (!res?.ok) return undefined;
        const active = ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets.filter((t) => t.labels.job === 'vllm');
        return active.length === 2 && active.every((t) => t.health === 'up') ? active : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${(await containerLogs(id)).slice(-3000)}`);
    });
    console.log(`Prometheus discovered and scraped both models in ${Date.now() - t0} ms`);
    expect(targets.map((t) => t.labels).sort((a, b) => a.model!.localeCompare(b.model!))).toEqual([
      // And which pod of which namespace, what a custom metrics adapter maps series to pods by.
      { container: 'inference-demo-chat', gpus: 'none', host: 'gpu-node-1', instance: `${ips.get('inference-demo-chat')}:8000`, job: 'vllm', model: 'demo-chat', namespace: ns, pod: 'inference-demo-chat-pod', replica: 'inference-demo-chat-pod', served_model_name: 'demo/chat-small' },
      { container: 'inference-demo-code', gpus: 'none', host: 'gpu-node-1', instance: `${ips.get('inference-demo-code')}:8000`, job: 'vllm', model: 'demo-code', namespace: ns, pod: 'inference-demo-code-pod', replica: 'inference-demo-code-pod', served_model_name: 'demo-coder' },
    ]);
    // The dashboards' queries find vLLM's series by model_name, scraped under job vllm.
    const q = await waitFor('vLLM series', async () => {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent('count by (model) (vllm:num_requests_running{job="vllm"})')}`);
      const result = ((await res.json()) as { data: { result: Array<{ metric: { model: string } }> } }).data.result;
      return result.length === 2 ? result : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(q.map((s) => s.metric.model).sort()).toEqual(['demo-chat', 'demo-code']);
  });
});

const GPU_MODELS = `name: gpu-stack
gateway: {image: ${LITELLM_IMAGE}}
monitoring:
  dcgm-exporter: {enabled: true}
models:
  - big:
      model: Qwen/Qwen3-32B
      gpus: [0, 1]
      tensor-parallel-size: 2
      shm-size: 16g
      cpuset-cpus: "0-7"
      max-model-len: 32768
  - small:
      model: Qwen/Qwen3-0.6B
      gpus: [2]
      gpu-memory-utilization: 0.5
  - secured:
      model: meta-llama/Llama-3.2-1B-Instruct
      gpus: [3]
      api-key: "\${SECURED_API_KEY}"
      served-model-name: llama-small
`;
const GPU_ENV = `LITELLM_MASTER_KEY=${MASTER}\nHF_TOKEN=${HF}\nSECURED_API_KEY=${SECURED}\nGRAFANA_ADMIN_PASSWORD=${GRAFANA}\n`;

describe('a 3-model GPU config on Kubernetes', () => {
  let dir: string;
  let out: string;
  let r: KubernetesExport;
  let built: KubeObject[];

  beforeAll(async () => {
    dir = project('gpu', GPU_MODELS, GPU_ENV);
    out = join(dir, 'k8s');
    r = await exportTo(dir, out, { withSecrets: true, serviceMonitorLabels: { release: 'kps' } });
    built = await kustomizeBuild(out);
  });

  it('GPUs, tensor parallelism, shared memory, CPUs and probes as the config says', () => {
    const container = (name: string) => named(built, 'Deployment', name).spec.template.spec.containers[0];
    const big = container('inference-big');
    expect(big.resources).toEqual({ limits: { 'nvidia.com/gpu': '2' }, requests: { cpu: '8' } });
    expect(big.args.join(' ')).toContain('--tensor-parallel-size 2');
    const bigPod = named(built, 'Deployment', 'inference-big').spec.template.spec;
    expect(bigPod.volumes.find((v: { name: string }) => v.name === 'shm')).toEqual({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '16Gi' } });
    expect(bigPod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(container('inference-small').resources).toEqual({ limits: { 'nvidia.com/gpu': '1' } });
    expect(container('inference-secured').resources).toEqual({ limits: { 'nvidia.com/gpu': '1' } });
    for (const name of ['inference-big', 'inference-small', 'inference-secured']) {
      expect(named(built, 'Deployment', name).spec.strategy).toEqual({ type: 'Recreate' });
      expect(container(name).startupProbe).toEqual({ httpGet: { path: '/health', port: 'http' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 360 });
      expect(named(built, 'PersistentVolumeClaim', `${name}-hf-cache`).spec.resources.requests.storage).toBe('100Gi');
    }
  });

  it('secrets are Secret references in the objects; only secret.yaml (0600) holds them', () => {
    const secured = named(built, 'Deployment', 'inference-secured').spec.template.spec.containers[0].env;
    expect(secured).toEqual(
      expect.arrayContaining([
        { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'inferstack-secrets', key: 'HF_TOKEN' } } },
        { name: 'VLLM_API_KEY', valueFrom: { secretKeyRef: { name: 'inferstack-secrets', key: 'SECURED_API_KEY' } } },
      ]),
    );
    for (const f of r.files.filter((x) => x.path !== 'secret.yaml')) for (const s of [MASTER, HF, SECURED, GRAFANA]) expect(f.text, f.path).not.toContain(s);
    expect(statSync(join(out, 'secret.yaml')).mode & 0o777).toBe(0o600);
    expect(named(built, 'Secret', 'inferstack-secrets').stringData).toEqual({ GRAFANA_ADMIN_PASSWORD: GRAFANA, HF_TOKEN: HF, LITELLM_MASTER_KEY: MASTER, SECURED_API_KEY: SECURED });
    // The ServiceMonitor names the Secret kustomize does not rename.
    expect(named(built, 'ServiceMonitor', 'litellm').spec.endpoints[0].authorization).toEqual({ type: 'Bearer', credentials: { name: 'inferstack-secrets', key: 'LITELLM_MASTER_KEY' } });
  });

  it('the API server accepts every object (the ServiceMonitor CRD installed) and returns each as sent', async () => {
    for (const o of objectFiles(r)) expect(validateKubernetesObject(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    expect(byKind(built, 'ServiceMonitor').map((o) => o.metadata.name).sort()).toEqual(['litellm', 'vllm']);
    expect(named(built, 'ServiceMonitor', 'vllm').metadata.labels).toMatchObject({ release: 'kps', 'app.kubernetes.io/part-of': 'gpu-stack' });
    await applyAll(built);
  });

  it('its LiteLLM config, loaded into the real LiteLLM with the pod environment, routes to the Service names', async () => {
    const net = `${prefix}-net`;
    await docker(['network', 'create', '--label', sessionLabel(session), net], { allowFail: true });
    const secret = named(built, 'Secret', 'inferstack-secrets').stringData as Record<string, string>;
    const gateway = await runDeployment(named(built, 'Deployment', 'litellm'), built, { network: net, secret, dirs, prefix: `${prefix}-gpu` });
    containers.push(gateway.id);
    const url = `http://127.0.0.1:${gateway.ports.get(4000)}`;
    await waitForGateway(`${url}/health/readiness`, gateway.id);
    const info = (await (await fetch(`${url}/model/info`, { headers: { authorization: `Bearer ${MASTER}` } })).json()) as {
      data: Array<{ model_name: string; litellm_params: { api_base: string } }>;
    };
    expect(info.data.map((e) => [e.model_name, e.litellm_params.api_base]).sort()).toEqual([
      ['Qwen/Qwen3-0.6B', 'http://inference-small:8000/v1'],
      ['Qwen/Qwen3-32B', 'http://inference-big:8000/v1'],
      ['llama-small', 'http://inference-secured:8000/v1'],
    ]);
    const models = (await (await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${MASTER}` } })).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id).sort()).toEqual(['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-32B', 'llama-small']);
    // The secured model's key reaches LiteLLM through the pod's environment, never the ConfigMap.
    const config = r.files.find((f) => f.path === 'files/litellm/config.yaml')!.text;
    expect(config).toContain('api_key: os.environ/INFERSTACK_VLLM_KEY_SECURED');
  }, GATEWAY_TEST_MS);

  it('is deterministic: the same config gives byte-equal files, and a second export changes nothing', async () => {
    const again = await exportTo(dir, join(dir, 'k8s-again'), { withSecrets: true, serviceMonitorLabels: { release: 'kps' } });
    expect(again.files.map((f) => [f.path, f.text])).toEqual(r.files.map((f) => [f.path, f.text]));
    const same = await exportTo(dir, out, { withSecrets: true, serviceMonitorLabels: { release: 'kps' } });
    expect(same.hasChanges).toBe(false);
    expect(same.changes.every((c) => c.action === 'keep')).toBe(true);
  });

  it('one model changed: only its file changes, and the gateway ConfigMap when the gateway routes differently', async () => {
    const edit = (from: string, to: string) => writeFileSync(join(dir, 'model_config', 'models.yaml'), GPU_MODELS.replace(from, to));
    const changed = (x: KubernetesExport) => x.changes.filter((c) => c.action !== 'keep').map((c) => [c.action, c.path, c.objects.map((o) => `${o.action} ${o.kind}/${o.name}`)]);
    try {
      edit('max-model-len: 32768', 'max-model-len: 16384');
      const flags = await exportTo(dir, out, { withSecrets: true, serviceMonitorLabels: { release: 'kps' }, dryRun: true });
      expect(changed(flags)).toEqual([['change', 'models/inference-big.yaml', ['change Deployment/inference-big']]]);

      edit('gpu-memory-utilization: 0.5', 'gpu-memory-utilization: 0.5\n      served-model-name: qwen-tiny');
      const renamed = await exportTo(dir, out, { withSecrets: true, serviceMonitorLabels: { release: 'kps' }, dryRun: true });
      expect(changed(renamed)).toEqual([
        ['change', 'files/litellm/config.yaml', ['change ConfigMap/litellm-config']],
        ['change', 'models/inference-small.yaml', ['change Deployment/inference-small', 'change Service/inference-small']],
      ]);

      // The CLI plan says the same, and --exit-code exits 3.
      const cli = join(repoRoot, 'packages/cli/dist/serve.cjs');
      const plan = await run(process.execPath, [cli, 'plan', '--target', 'kubernetes', '--out', 'k8s', '--with-secrets', '--service-monitor-labels', 'release=kps', '--exit-code'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1' } }).then(
        () => ({ code: 0, stdout: '' }),
        (e: { code: number; stdout: string }) => e,
      );
      expect(plan.code).toBe(3);
      expect(plan.stdout).toMatch(/~\s+files\/litellm\/config\.yaml\s+ConfigMap\/litellm-config changed/);
      expect(plan.stdout).toMatch(/~\s+models\/inference-small\.yaml\s+Deployment\/inference-small changed, Service\/inference-small changed/);
      expect(plan.stdout).toContain(`${r.files.length} files: 2 changed, ${r.files.length - 2} unchanged`);
    } finally {
      writeFileSync(join(dir, 'model_config', 'models.yaml'), GPU_MODELS);
    }
  });
});

const REPLICA_MODELS = `name: replicas
models:
  - chat:
      model: demo/chat-small
      gpus: none
      idle: {after: 10m, then: stop}
      replicas: {min: 0, max: 3, down-after: 2m}
  - code:
      model: demo/code-small
      gpus: none
      replicas: 2
`;

describe('models with replicas on Kubernetes', () => {
  it('a fixed count is the Deployment\'s replicas; a model that scales gets a HorizontalPodAutoscaler the API server accepts', async () => {
    const dir = project('replicas', REPLICA_MODELS, `LITELLM_MASTER_KEY=${MASTER}\n`);
    const out = join(dir, 'k8s');
    const r = await exportTo(dir, out);
    const built = await kustomizeBuild(out);
    const oneAtATime = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
    expect(named(built, 'Deployment', 'inference-code').spec).toMatchObject({ replicas: 2, strategy: oneAtATime });
    expect(named(built, 'Deployment', 'inference-chat').spec).toMatchObject({ replicas: 1, strategy: oneAtATime });
    expect(byKind(built, 'HorizontalPodAutoscaler').map((o) => o.metadata.name)).toEqual(['inference-chat']);
    expect(named(built, 'HorizontalPodAutoscaler', 'inference-chat').spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'inference-chat' },
      minReplicas: 1,
      maxReplicas: 3,
      metrics: [{ type: 'Pods', pods: { metric: { name: 'vllm_num_requests_waiting' }, target: { type: 'AverageValue', averageValue: '1' } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 120 } },
    });
    expect(r.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^chat: replicas min 0 becomes minReplicas 1/)]));
    await applyAll(built);
  });
});
