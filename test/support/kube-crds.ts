// CustomResourceDefinitions the Kubernetes tests install into their API server, so that it accepts
// (and strictly checks) the custom resources `serve export kubernetes` writes.
//
// The ServiceMonitor CRD is written here from the Prometheus Operator's published API (the
// monitoring.coreos.com/v1 ServiceMonitor fields, their types and the patterns of durations, byte
// sizes and label names, as listed in its API reference and mirrored by the typed models in
// @kubernetes-models/prometheus-operator). It is NOT the operator's generated CRD: descriptions,
// CEL rules and defaults are left out, so a real cluster may reject a few values this one accepts.
// Every field of ServiceMonitor, Endpoint and their nested types is declared, and nothing keeps
// unknown fields, so a misspelt field is rejected under fieldValidation=Strict as on a real cluster.

import type { KubeObject } from './kube.js';

/** An OpenAPI v3 schema node, the subset a structural CRD schema uses. */
export interface CrdSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, CrdSchema>;
  additionalProperties?: CrdSchema;
  items?: CrdSchema;
  required?: string[];
  enum?: string[];
  pattern?: string;
  format?: string;
  minimum?: number;
  minLength?: number;
  minItems?: number;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

const string = (extra: Omit<CrdSchema, 'type'> = {}): CrdSchema => ({ type: 'string', ...extra });
const integer = (extra: Omit<CrdSchema, 'type'> = {}): CrdSchema => ({ type: 'integer', ...extra });
const boolean: CrdSchema = { type: 'boolean' };
const object = (properties: Record<string, CrdSchema>, required?: string[]): CrdSchema =>
  required ? { type: 'object', properties, required } : { type: 'object', properties };
const array = (items: CrdSchema, extra: Omit<CrdSchema, 'type' | 'items'> = {}): CrdSchema => ({ type: 'array', items, ...extra });
const map = (values: CrdSchema): CrdSchema => ({ type: 'object', additionalProperties: values });
const intOrString: CrdSchema = { 'x-kubernetes-int-or-string': true };

/** Prometheus durations: 0, or units from years to milliseconds in that order (`30s`, `1m30s`). */
const duration = string({ pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' });
/** Byte sizes such as `512KiB`, `10MB`, or 0. */
const byteSize = string({ pattern: '(^0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$' });
const labelName = string({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' });

const keySelector = { type: 'object', properties: { key: string(), name: string(), optional: boolean }, required: ['key'], 'x-kubernetes-map-type': 'atomic' } satisfies CrdSchema;
const secretOrConfigMap = object({ configMap: keySelector, secret: keySelector });
const labelSelector = {
  type: 'object',
  properties: {
    matchExpressions: array(object({ key: string(), operator: string(), values: array(string()) }, ['key', 'operator'])),
    matchLabels: map(string()),
  },
  'x-kubernetes-map-type': 'atomic',
} satisfies CrdSchema;

const proxy = {
  noProxy: string(),
  proxyConnectHeader: map(array(keySelector)),
  proxyFromEnvironment: boolean,
  proxyUrl: string({ pattern: '^(http|https|socks5)://.+$' }),
};
const safeTls = {
  ca: secretOrConfigMap,
  cert: secretOrConfigMap,
  insecureSkipVerify: boolean,
  keySecret: keySelector,
  maxVersion: string({ enum: ['TLS10', 'TLS11', 'TLS12', 'TLS13'] }),
  minVersion: string({ enum: ['TLS10', 'TLS11', 'TLS12', 'TLS13'] }),
  serverName: string(),
};
const relabelConfig = object({
  action: string({
    enum: ['replace', 'Replace', 'keep', 'Keep', 'drop', 'Drop', 'hashmod', 'HashMod', 'labelmap', 'LabelMap', 'labeldrop', 'LabelDrop',
      'labelkeep', 'LabelKeep', 'lowercase', 'Lowercase', 'uppercase', 'Uppercase', 'keepequal', 'KeepEqual', 'dropequal', 'DropEqual'],
  }),
  modulus: integer({ format: 'int64', minimum: 1 }),
  regex: string(),
  replacement: string(),
  separator: string(),
  sourceLabels: array(labelName),
  targetLabel: string(),
});

const endpoint = object({
  authorization: object({ credentials: keySelector, type: string() }),
  basicAuth: object({ password: keySelector, username: keySelector }),
  bearerTokenFile: string(),
  bearerTokenSecret: keySelector,
  enableHttp2: boolean,
  filterRunning: boolean,
  followRedirects: boolean,
  honorLabels: boolean,
  honorTimestamps: boolean,
  interval: duration,
  metricRelabelings: array(relabelConfig),
  oauth2: object(
    {
      ...proxy,
      clientId: secretOrConfigMap,
      clientSecret: keySelector,
      endpointParams: map(string()),
      scopes: array(string()),
      tlsConfig: object(safeTls),
      tokenUrl: string({ minLength: 1 }),
    },
    ['clientId', 'clientSecret', 'tokenUrl'],
  ),
  params: map(array(string())),
  path: string(),
  port: string(),
  ...proxy,
  relabelings: array(relabelConfig),
  scheme: string({ enum: ['http', 'https', 'HTTP', 'HTTPS'] }),
  scrapeTimeout: duration,
  targetPort: intOrString,
  tlsConfig: object({ ...safeTls, caFile: string(), certFile: string(), keyFile: string() }),
  trackTimestampsStaleness: boolean,
});

const scrapeProtocol = string({ enum: ['PrometheusProto', 'OpenMetricsText0.0.1', 'OpenMetricsText1.0.0', 'PrometheusText0.0.4', 'PrometheusText1.0.0'] });

/** The schema of a monitoring.coreos.com/v1 ServiceMonitor (metadata is the API server's). */
export const SERVICE_MONITOR_SCHEMA: CrdSchema = object(
  {
    apiVersion: string(),
    kind: string(),
    metadata: { type: 'object' },
    spec: object(
      {
        attachMetadata: object({ node: boolean }),
        bodySizeLimit: byteSize,
        convertClassicHistogramsToNHCB: boolean,
        endpoints: array(endpoint),
        fallbackScrapeProtocol: scrapeProtocol,
        jobLabel: string(),
        keepDroppedTargets: integer({ format: 'int64' }),
        labelLimit: integer({ format: 'int64' }),
        labelNameLengthLimit: integer({ format: 'int64' }),
        labelValueLengthLimit: integer({ format: 'int64' }),
        namespaceSelector: object({ any: boolean, matchNames: array(string()) }),
        nativeHistogramBucketLimit: integer({ format: 'int64' }),
        nativeHistogramMinBucketFactor: { ...intOrString, pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$' },
        podTargetLabels: array(string()),
        sampleLimit: integer({ format: 'int64' }),
        scrapeClass: string({ minLength: 1 }),
        scrapeClassicHistograms: boolean,
        scrapeNativeHistograms: boolean,
        scrapeProtocols: array(scrapeProtocol),
        selector: labelSelector,
        selectorMechanism: string({ enum: ['RelabelConfig', 'RoleSelector'] }),
        serviceDiscoveryRole: string({ enum: ['Endpoints', 'EndpointSlice'] }),
        targetLabels: array(string()),
        targetLimit: integer({ format: 'int64' }),
      },
      ['endpoints', 'selector'],
    ),
  },
  ['spec'],
);

/** The CustomResourceDefinition that makes an API server serve monitoring.coreos.com/v1 ServiceMonitors. */
export const SERVICE_MONITOR_CRD: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { kind: 'ServiceMonitor', listKind: 'ServiceMonitorList', plural: 'servicemonitors', singular: 'servicemonitor', shortNames: ['smon'], categories: ['prometheus-operator'] },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: SERVICE_MONITOR_SCHEMA } }],
  },
};
