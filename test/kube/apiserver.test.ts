// A real kube-apiserver (with etcd) on loopback: server-side apply with strict field validation, dry
// runs, CRDs, round trips. Fails, never skips, when the binaries are missing
// (`bash scripts/ensure-kube.sh` provides them; .ci/run runs it).
import { existsSync } from 'node:fs';
import { get } from 'node:https';
import { describe, expect, it } from 'vitest';
import { KubeApiError, type KubeObject, SERVICE_MONITOR_CRD, useKubeApiServer, validateKubernetesObject } from '../support/kube.js';
import { BAD, configMap, deployment, edited, GOOD, NAMESPACE, namespace, serviceMonitor } from './_objects.js';

const kube = useKubeApiServer({ crds: [SERVICE_MONITOR_CRD] });

/** The status of a GET that trusts the server's certificate but sends no token. */
function statusWithoutToken(path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get(`${kube().url}${path}`, { ca: kube().ca, checkServerIdentity: () => undefined }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject);
  });
}

/** The server's rejection of `obj`, or a failure when it accepts it. */
async function rejection(obj: KubeObject, dryRun = true): Promise<KubeApiError> {
  const error = await kube().apply(obj, { dryRun }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof KubeApiError)) throw new Error(`expected a KubeApiError, got ${error === undefined ? 'success' : String(error)}`);
  return error;
}

describe('a kube-apiserver on loopback', () => {
  it('is the pinned version, answers only with the token, and lists the ServiceMonitor CRD', async () => {
    expect(kube().url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(kube().version).toMatch(/^v1\.\d+\.\d+$/);
    expect(await statusWithoutToken('/api/v1/namespaces')).toBe(401);
    expect((await kube().request('GET', '/api/v1/namespaces')).status).toBe(200);
    const crd = await kube().get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'servicemonitors.monitoring.coreos.com');
    expect(crd?.metadata.name).toBe('servicemonitors.monitoring.coreos.com');
  });

  it('accepts a GPU Deployment in a dry run and stores nothing', async () => {
    await kube().apply(namespace());
    const applied = (await kube().apply(deployment(), { dryRun: true })) as any;
    expect(applied.spec.template.spec.containers[0].resources.limits).toEqual({ 'nvidia.com/gpu': '1', memory: '24Gi' });
    // Server defaults came back: proof the server processed it, not just echoed it.
    expect(applied.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(applied.spec.revisionHistoryLimit).toBe(10);
    expect(await kube().get('apps/v1', 'Deployment', 'vllm-qwen', NAMESPACE)).toBeUndefined();
  });

  it('rejects an unknown field, naming it, in a server-side apply and in a create', async () => {
    const misspelt = edited(deployment, (d) => (d.spec.template.spec.containers[0].imagee = 'x'));
    const applied = await rejection(misspelt);
    // 500 is Kubernetes' answer to a schema error in an apply patch (upstream bug); 400 if fixed.
    expect([400, 500]).toContain(applied.status);
    expect(applied.message).toContain('.spec.template.spec.containers[name="vllm"].imagee: field not declared in schema');

    const created = await kube().create(misspelt, { dryRun: true }).then(
      () => undefined,
      (e: unknown) => e as KubeApiError,
    );
    expect(created).toBeInstanceOf(KubeApiError);
    expect(created!.status).toBe(400);
    expect(created!.message).toContain('strict decoding error: unknown field "spec.template.spec.containers[0].imagee"');
  });

  it('round-trips a namespace and a ConfigMap: apply, get, same data, our field manager', async () => {
    await kube().apply(namespace());
    const ns = await kube().get('v1', 'Namespace', NAMESPACE);
    expect(ns?.metadata.labels).toMatchObject(namespace().metadata.labels as object);

    await kube().apply(configMap());
    const stored = (await kube().get('v1', 'ConfigMap', 'litellm-config', NAMESPACE)) as any;
    expect(stored.data).toEqual(configMap().data);
    expect(stored.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(stored.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'inferstack-test', operation: 'Apply' })]);

    // Applying the same object again changes nothing; a changed one updates in place.
    await kube().apply(configMap());
    expect(((await kube().get('v1', 'ConfigMap', 'litellm-config', NAMESPACE)) as any).metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
    const changed = edited(configMap, (c) => (c.data['config.yaml'] += '# changed\n'));
    await kube().apply(changed);
    expect(((await kube().get('v1', 'ConfigMap', 'litellm-config', NAMESPACE)) as any).data).toEqual(changed.data);

    expect(await kube().delete('v1', 'ConfigMap', 'litellm-config', NAMESPACE)).toBe(true);
    expect(await kube().get('v1', 'ConfigMap', 'litellm-config', NAMESPACE)).toBeUndefined();
  });

  it('stores a ServiceMonitor through the CRD and rejects a misspelt one', async () => {
    await kube().apply(serviceMonitor());
    const stored = (await kube().get('monitoring.coreos.com/v1', 'ServiceMonitor', 'vllm', NAMESPACE)) as any;
    expect(stored.spec).toEqual(serviceMonitor().spec);
    const error = await rejection(edited(serviceMonitor, (m) => (m.spec.endpoints[0].scrapeInterval = '15s')));
    expect(error.message).toContain('.spec.endpoints[0].scrapeInterval: field not declared in schema');
  });

  it.each(Object.entries(GOOD))('accepts the %s that offline validation accepts (dry run)', async (_, make) => {
    await kube().apply(namespace());
    expect(validateKubernetesObject(make())).toEqual([]);
    await expect(kube().apply(make(), { dryRun: true })).resolves.toMatchObject({ kind: make().kind });
  });

  it.each(BAD)('rejects $name as offline validation does (dry run)', async ({ object, path, server }) => {
    expect(validateKubernetesObject(object()).some((p) => p.startsWith(path))).toBe(true);
    const error = await rejection(object());
    expect(error.message).toContain(server);
  });
});

describe('stop()', () => {
  it('ends etcd and the API server and removes their directory', async () => {
    const dir = kube().dir;
    expect(existsSync(dir)).toBe(true);
    await kube().stop();
    expect(existsSync(dir)).toBe(false);
    await expect(kube().request('GET', '/readyz')).rejects.toThrow(/ECONNREFUSED/);
    await kube().stop(); // a second call is harmless
  });
});
