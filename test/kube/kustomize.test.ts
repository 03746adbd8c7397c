// A kustomization like the one `serve export kubernetes` will write, rendered by the real kustomize
// and applied to a real API server: every rendered object must pass offline validation and the
// server's strict checks. Fails, never skips, when the binaries are missing.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kustomizeBuild, SERVICE_MONITOR_CRD, useKubeApiServer, validateKubernetesObject } from '../support/kube.js';
import { deployment, NAMESPACE, namespace, persistentVolumeClaim, service, serviceMonitor } from './_objects.js';

const kube = useKubeApiServer({ crds: [SERVICE_MONITOR_CRD] });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inferstack-kustomize-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const kustomization = {
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
  namespace: NAMESPACE,
  labels: [{ pairs: { 'app.kubernetes.io/part-of': 'inferstack' } }],
  resources: ['namespace.yaml', 'deployment.yaml', 'service.yaml', 'pvc.yaml', 'servicemonitor.yaml'],
  configMapGenerator: [{ name: 'litellm-config', files: ['config.yaml'] }],
  secretGenerator: [{ name: 'inferstack-keys', literals: ['VLLM_API_KEY=not-a-real-key'] }],
};

async function writeKustomization(sub: string, k: object): Promise<string> {
  const d = join(dir, sub);
  await mkdir(d);
  const files: Record<string, unknown> = {
    'namespace.yaml': namespace(),
    'deployment.yaml': deployment(),
    'service.yaml': service(),
    'pvc.yaml': persistentVolumeClaim(),
    'servicemonitor.yaml': serviceMonitor(),
  };
  for (const [name, obj] of Object.entries(files)) await writeFile(join(d, name), stringify(obj));
  await writeFile(join(d, 'config.yaml'), 'model_list: []\n');
  await writeFile(join(d, 'kustomization.yaml'), stringify(k));
  return d;
}

describe('kustomize build → offline validation → kube-apiserver', () => {
  it('renders objects that validate offline and that the API server accepts and stores', async () => {
    const objects = await kustomizeBuild(await writeKustomization('good', kustomization));
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Namespace', 'PersistentVolumeClaim', 'Secret', 'Service', 'ServiceMonitor']);
    for (const o of objects) {
      expect(validateKubernetesObject(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
      expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('inferstack');
    }

    // Generated names carry a content hash, and kustomize rewrote the Deployment's reference.
    const secret = objects.find((o) => o.kind === 'Secret')!;
    expect(secret.metadata.name).toMatch(/^inferstack-keys-[a-z0-9]{10}$/);
    const d = objects.find((o) => o.kind === 'Deployment') as any;
    expect(d.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
    // ...but not the ServiceMonitor's: kustomize knows no references inside custom resources, so
    // an export that uses generators needs disableNameSuffixHash or a nameReference configuration.
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as any;
    expect(monitor.spec.endpoints[0].authorization.credentials.name).toBe('inferstack-keys');

    // kustomize orders Namespaces first, so applying in its order works on an empty server.
    for (const o of objects) await kube().apply(o);
    for (const o of objects) {
      const stored = await kube().get(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
      expect(stored?.metadata.uid, `${o.kind}/${o.metadata.name}`).toBeDefined();
    }
  });

  it('refuses a kustomization with a misspelt field, naming it', async () => {
    const d = await writeKustomization('bad', { ...kustomization, resource: kustomization.resources });
    await expect(kustomizeBuild(d)).rejects.toThrow(/unknown field "resource"/);
  });
});
