import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { describe, expect, test } from 'vitest';
import { ModelsFileSchema, modelsJsonSchema } from './schema.js';

const committed = new URL('../models.schema.json', import.meta.url);

describe('models.schema.json', () => {
  test('is what the valibot schema generates (run `pnpm --filter @inferstack/config gen:schema`)', async () => {
    const generated = `${JSON.stringify(modelsJsonSchema(), null, 2)}\n`;
    expect(await readFile(committed, 'utf8')).toBe(generated);
  });

  test('gives editors a title and description for every option', () => {
    const schema = modelsJsonSchema() as {
      properties: Record<string, { title?: string; description?: string; properties?: Record<string, unknown> }>;
      $defs: { modelOptions: { properties: Record<string, { title?: string; description?: string }> } };
    };
    const described = (node: { title?: string; description?: string }, where: string) => {
      expect(node.title, `${where} title`).toBeTruthy();
      expect(node.description, `${where} description`).toBeTruthy();
    };
    for (const [name, option] of Object.entries(schema.$defs.modelOptions.properties)) described(option, `models.*.${name}`);
    for (const section of ['models', 'defaults', 'gateway', 'monitoring', 'network']) {
      const node = schema.properties[section];
      expect(node, section).toBeDefined();
      described(node ?? {}, section);
    }
    expect(Object.keys(schema.$defs.modelOptions.properties)).toEqual(
      expect.arrayContaining(['model', 'gpus', 'cpuset-cpus', 'shm-size', 'tensor-parallel-size', 'gpu-memory-utilization', 'additional_flags', 'image', 'env', 'volumes', 'pull', 'api-key', 'served-model-name']),
    );
  });

  test('the valibot schema accepts the reference fixture and refuses unknown sections', async () => {
    const text = await readFile(new URL('../test-fixtures/reference/model_config/models.yaml', import.meta.url), 'utf8');
    const value = parseYaml(text) as Record<string, unknown>;
    expect(v.safeParse(ModelsFileSchema, value).success).toBe(true);
    expect(v.safeParse(ModelsFileSchema, { ...value, gatway: {} }).success).toBe(false);
  });
});
