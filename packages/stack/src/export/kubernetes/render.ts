import { posix } from 'node:path';
import { SecretRefs } from '../compose/render.js';
import { autoscalerComment, QUEUE_METRIC, scales } from './autoscaling.js';
import { gatewayPart } from './gateway.js';
import { sharedGpuNotes } from './gpus.js';
import { ExportFiles, generatorEntry, kustomizationFile } from './kustomization.js';
import { commonLabels, ref } from './labels.js';
import { modelObjects, serviceNames } from './models.js';
import { grafanaPart, prometheusPart, serviceMonitors } from './monitoring.js';
import { compareText, kubernetesName, labelValue, objectsYaml, type KubeObject } from './objects.js';
import { checkOptions, holdsSecret } from './options.js';
import { SERVICE_KINDS, skippedServiceNote } from './services.js';
import { SECRET_NAME, type KubernetesInput, type RenderContext, type RenderedKubernetes } from './types.js';

/*
 * `serve export kubernetes`: the stack as Kubernetes objects, a Kustomize directory. Every
 * container is translated from the very Docker create body `serve up` sends (modelContainerOptions,
 * serviceContainerOptions), as the compose export is, so the image, argv and environment are the
 * same on both. Secrets are references to one Secret, never values. Pure: the caller reads the
 * files it needs (the gateway's config, Grafana's) and writes the result.
 *
 * This file puts the parts together; each part is a file of this folder: models.ts (a model's
 * Deployment, Service and cache), autoscaling.ts (its replicas, an HPA when it scales), gateway.ts, monitoring.ts (Prometheus, Grafana,
 * ServiceMonitors), workload.ts (the one Deployment builder), kustomization.ts.
 */

/**
 * The stack as a Kustomize directory: per model a Deployment and a Service (and its cache claim,
 * and a HorizontalPodAutoscaler when it scales), the gateway with its LiteLLM config routing to
 * the model Services, Prometheus discovering the models in the namespace, Grafana with the dashboards, and on request ServiceMonitors for the
 * Prometheus Operator. Deterministic: the same input gives byte-equal files.
 */
export function renderKubernetes(input: KubernetesInput): RenderedKubernetes {
  const { config } = input;
  const options = input.options ?? {};
  checkOptions(options);
  const namespace = options.namespace ?? kubernetesName(config.name);
  const c: RenderContext = { config, namespace, partOf: labelValue(config.name), refs: new SecretRefs(config.settings), values: new Map(), notes: [], options };
  const out = new ExportFiles();

  out.objects('namespace.yaml', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: commonLabels(c) } }]);

  const modelNames = serviceNames(config.models);
  const shared: KubeObject[] = [];
  for (const spec of config.models) {
    const { objects, sharedClaims } = modelObjects(c, spec, modelNames.get(spec.key)!);
    out.objects(`models/${modelNames.get(spec.key)}.yaml`, objects, [` Model ${spec.key}: ${spec.model}`, ...autoscalerComment(spec)].join('\n'));
    for (const claim of sharedClaims) if (!shared.some((s) => s.metadata.name === claim.metadata.name)) shared.push(claim);
  }
  if (shared.length > 0) out.objects('volumes.yaml', shared, ' Named volumes of the models (Docker named volumes): check their size');
  sharedGpuNotes(c, config.models);
  const scaling = config.models.filter(scales).map((m) => m.key);
  if (scaling.length > 0) {
    c.notes.push(
      `${scaling.join(', ')} scale${scaling.length === 1 ? 's' : ''} with a HorizontalPodAutoscaler on the pods metric ${QUEUE_METRIC}: the cluster needs a custom metrics adapter (e.g. prometheus-adapter, its rule in the model's file) serving vLLM's vllm:num_requests_waiting under that name, or the HPA shows <unknown> and never scales`,
    );
  }

  for (const kind of [...input.services.map((s) => s.kind), ...(input.otherServices ?? [])]) {
    if (!SERVICE_KINDS[kind]) c.notes.push(skippedServiceNote(kind));
  }
  const byKind = new Map(input.services.map((s) => [s.kind, s]));
  const gateway = byKind.get('gateway');
  const prometheus = byKind.get('prometheus');
  const grafana = byKind.get('grafana');
  if (gateway) gatewayPart(c, out, input, gateway, modelNames);
  if (prometheus) prometheusPart(c, out, input, prometheus, gateway);
  const monitoring = config.monitoring.mode !== 'none';
  if (monitoring && input.grafana) grafanaPart(c, out, input, input.grafana, grafana, prometheus);
  if (monitoring && (options.serviceMonitors || options.serviceMonitorLabels)) {
    out.objects('servicemonitors.yaml', serviceMonitors(c, config.models.length > 0, gateway), ' For the Prometheus Operator: it scrapes the models (job vllm) and the gateway (job litellm) as the managed Prometheus does');
  } else if (config.monitoring.mode === 'external') {
    c.notes.push('monitoring is external: with the Prometheus Operator, export with ServiceMonitors (--service-monitors) so that it scrapes the models and the gateway');
  }

  const secrets = c.refs.list();
  const { files, generators } = out;
  if (options.withSecrets) {
    const data = Object.fromEntries(secrets.map((s) => [s.name, c.values.get(s.name) ?? '']));
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET_NAME, namespace, labels: commonLabels(c) }, type: 'Opaque', stringData: data };
    files.push({ path: 'secret.yaml', text: objectsYaml([secret], ' Secret values from .env: keep this file private (mode 0600), do not commit it.'), mode: 0o600, objects: [ref(secret)] });
  }
  for (const s of secrets.filter((x) => !x.inSettings)) c.notes.push(`${s.name} (for ${s.usedBy.join(', ')}) has no value in the settings: the Secret needs one`);

  const resources = files
    .filter((f) => f.path.endsWith('.yaml') && !f.path.startsWith('files/'))
    .map((f) => f.path)
    .sort((a, b) => (a === 'namespace.yaml' ? -1 : b === 'namespace.yaml' ? 1 : compareText(a, b)));
  files.push(
    kustomizationFile(
      'kustomization.yaml',
      {
        namespace,
        resources,
        ...(generators.length > 0 ? { configMapGenerator: generators.map((g) => generatorEntry(c, g)) } : {}),
      },
      [
        ` Generated by "serve export kubernetes" from ${posix.relative(config.projectDir.replaceAll('\\', '/'), config.file.replaceAll('\\', '/'))} (stack ${config.name}); changes here are overwritten.`,
        ` Apply with: kubectl apply -k <this directory>${options.serviceMonitors || options.serviceMonitorLabels ? ' (the ServiceMonitor CRD of the Prometheus Operator must be installed)' : ''}`,
        ` Secrets are references to the Secret ${SECRET_NAME}${options.withSecrets ? ' (secret.yaml)' : ', which you create ("serve export kubernetes" lists its keys)'}.`,
        ' ConfigMaps made from files/ get a content hash in their name: a changed config rolls out the pods that use it.',
      ].join('\n'),
    ),
  );

  files.sort((a, b) => compareText(a.path, b.path));
  for (const f of files) {
    if (f.path !== 'secret.yaml' && holdsSecret(config, f.text)) throw new Error(`internal error: a secret value reached ${f.path}; nothing was written`);
  }
  return { namespace, files, secretName: SECRET_NAME, secrets, notes: c.notes };
}
