import { selectModels, type ModelSpec, type StackConfig } from '@inferstack/config';
import { shownPath } from '../_paths.js';

/**
 * The models named (all when none are). A name that is not in the config is bad input, reported
 * by the config package the way it reports every other problem of the file.
 */
export function selectedModels(config: StackConfig, names: readonly string[] | undefined, cwd: string): ModelSpec[] {
  return names && names.length > 0 ? selectModels(config, names, { shownFile: shownPath(cwd, config.file) }) : config.models;
}
