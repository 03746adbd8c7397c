import { DEFAULT_REPLICA_DOWN_AFTER_MS, type ModelSpec } from '@inferstack/config';
import type { KubeObject } from './objects.js';
import type { RenderContext } from './types.js';

/*
 * A model's `replicas:` on Kubernetes: how many pods its Deployment runs and, for a model that
 * scales (min < max), a HorizontalPodAutoscaler on vLLM's queue, the load serve's watcher scales
 * it on under Docker (`vllm:num_requests_waiting` summed over the replicas; an HPA compares its
 * average per pod with a target, the same test).
 */

/**
 * vLLM's queue as a custom metrics adapter serves it per pod: prometheus-adapter gives a series
 * the name its rule's `name.as` says, here vLLM's without the `:` (see {@link ADAPTER_RULE}).
 */
export const QUEUE_METRIC = 'vllm_num_requests_waiting';

/** The prometheus-adapter rule that serves vLLM's queue as {@link QUEUE_METRIC}, as YAML lines. */
export const ADAPTER_RULE = [
  `- seriesQuery: 'vllm:num_requests_waiting{namespace!="",pod!=""}'`,
  '  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}',
  `  name: {matches: "^vllm:num_requests_waiting$", as: "${QUEUE_METRIC}"}`,
  "  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'",
];

/** Requests waiting per pod above which the HPA adds pods: any lasting queue, as serve's watcher. */
const TARGET_WAITING = '1';
/** The longest scale-down stabilization window Kubernetes accepts (one hour). */
const MAX_STABILIZATION_SECONDS = 3600;

/** Whether the model scales on load (`replicas: {min, max}` with min < max). */
export function scales(spec: Pick<ModelSpec, 'replicas'>): boolean {
  return spec.replicas.min < spec.replicas.max;
}

/**
 * The pods its Deployment asks for: the fixed count, or for a model that scales its least that
 * runs, at least one (a Deployment of a model that scales to zero starts with one; see {@link autoscaler}).
 */
export function podCount(spec: Pick<ModelSpec, 'replicas'>): number {
  return scales(spec) ? Math.max(spec.replicas.min, 1) : spec.replicas.max;
}

/**
 * The HorizontalPodAutoscaler of a model that scales, aimed at its Deployment `name` and labelled
 * like it (`metadata`): between max(min, 1) and max pods on {@link QUEUE_METRIC}, scaling down
 * once the queue stayed away for down-after. Notes what a plain HPA cannot do (min 0, a down-after
 * above an hour).
 */
export function autoscaler(c: RenderContext, spec: ModelSpec, name: string, metadata: KubeObject['metadata']): KubeObject {
  const { min, max } = spec.replicas;
  if (min === 0) {
    c.notes.push(`${spec.key}: replicas min 0 becomes minReplicas 1: a HorizontalPodAutoscaler keeps one pod at least (putting the last one away, as its idle policy does on Docker, needs something like KEDA)`);
  }
  const downAfter = Math.ceil((spec.replicas.downAfterMs ?? DEFAULT_REPLICA_DOWN_AFTER_MS) / 1000);
  if (downAfter > MAX_STABILIZATION_SECONDS) {
    c.notes.push(`${spec.key}: down-after ${downAfter}s is longer than a HorizontalPodAutoscaler waits (at most ${MAX_STABILIZATION_SECONDS}s): it takes a pod away after an hour without a queue`);
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata,
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: Math.max(min, 1),
      maxReplicas: max,
      metrics: [{ type: 'Pods', pods: { metric: { name: QUEUE_METRIC }, target: { type: 'AverageValue', averageValue: TARGET_WAITING } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: Math.min(downAfter, MAX_STABILIZATION_SECONDS) } },
    },
  };
}

/** What the file of a model that scales says on top: how it scales and what the cluster needs for it. */
export function autoscalerComment(spec: ModelSpec): string[] {
  if (!scales(spec)) return [];
  return [
    ` It scales between ${Math.max(spec.replicas.min, 1)} and ${spec.replicas.max} pods on vLLM's queue (the HorizontalPodAutoscaler below), which needs a`,
    ` custom metrics adapter serving vllm:num_requests_waiting per pod as ${QUEUE_METRIC}, e.g.`,
    ' prometheus-adapter with this rule (without one the HPA shows <unknown> and never scales):',
    ...ADAPTER_RULE.map((line) => `   ${line}`),
  ];
}
