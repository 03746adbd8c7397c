import { createHash } from 'node:crypto';
import type { ModelSpec } from '@inferstack/config';
import type { ModelContainer } from './containers.js';
import { modelLabels } from './labels.js';
import { toModelContainer } from './containers.js';

/** A model spec for unit tests; `specHash` follows the fields so changes show. */
export function fakeSpec(key: string, over: Partial<ModelSpec> = {}): ModelSpec {
  const spec: ModelSpec = {
    key,
    containerName: `inference-${key.replaceAll('/', '--')}`,
    model: `org/${key}`,
    servedModelName: `org/${key}`,
    image: 'vllm/vllm-openai:v0.12.0',
    pullPolicy: 'missing',
    gpus: { kind: 'devices', indices: [0] },
    replicas: { min: 1, max: 1 },
    routing: 'least-busy',
    vllmArgs: ['--max-model-len', '4096'],
    env: { HF_HOME: '/root/.cache/huggingface' },
    secretEnv: { HF_TOKEN: 'hf_secret' },
    volumes: [{ source: '/data/hf', target: '/root/.cache/huggingface', readOnly: false }],
    specHash: '',
    source: { file: 'models.yaml', line: 1, column: 1 },
    ...over,
  };
  if (!over.specHash) {
    const { specHash: _, source: __, ...rest } = spec;
    spec.specHash = createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
  }
  return spec;
}

/** A container as Docker would list it after we created it from `spec`. */
export function fakeContainer(
  spec: ModelSpec,
  over: { state?: string; status?: string; labels?: Record<string, string>; name?: string; id?: string; ports?: Array<{ IP: string; PrivatePort: number; PublicPort: number; Type: string }> } = {},
): ModelContainer {
  return toModelContainer({
    Id: over.id ?? `id-${spec.key}`,
    Names: [`/${over.name ?? spec.containerName}`],
    Image: spec.image,
    ImageID: 'sha256:x',
    Command: '',
    Created: 1_700_000_000,
    Ports: over.ports ?? [],
    Labels: over.labels ?? modelLabels(spec),
    State: over.state ?? 'running',
    Status: over.status ?? 'Up 5 minutes (healthy)',
    HostConfig: { NetworkMode: 'inference_default' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  });
}
