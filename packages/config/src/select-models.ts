import { didYouMean } from './_did-you-mean.js';
import { ConfigValidationError, type ConfigIssue } from './errors.js';
import type { ModelSpec } from './types.js';

/** The issue of a model name that the file does not have. @internal */
export function unknownModelIssue(file: string, name: string, keys: readonly string[]): ConfigIssue {
  return {
    file,
    line: 0,
    column: 0,
    path: ['models', name],
    code: 'unknown-model',
    message: `no model "${name}" in this file`,
    hint: didYouMean(name, keys) || (keys.length > 0 ? `models in this file: ${keys.join(', ')}` : 'add it to the file first'),
  };
}

/**
 * The models of a loaded config that `names` name, in file order (`serve up a b`).
 * @throws {ConfigValidationError} naming every name the file does not have
 */
export function selectModels(config: { file: string; models: readonly ModelSpec[] }, names: readonly string[], options: { shownFile?: string } = {}): ModelSpec[] {
  const keys = config.models.map((m) => m.key);
  const unknown = [...new Set(names)].filter((n) => !keys.includes(n));
  if (unknown.length > 0) throw new ConfigValidationError(unknown.map((n) => unknownModelIssue(options.shownFile ?? config.file, n, keys)));
  return config.models.filter((m) => names.includes(m.key));
}
