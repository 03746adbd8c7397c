import { relative, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { strictArgs } from '../args.js';
import { commandEnv } from '../context.js';
import { ExitCode } from '../errors.js';
import { shownPath } from '../output.js';
import { initJson } from '../render/json.js';
import { meta } from './meta.js';

export default defineCommand({
  meta: meta('init'),
  args: {
    dir: { type: 'positional', required: false, description: 'Project directory (default: the current one)', valueHint: 'DIR' },
    force: { type: 'boolean', description: 'Overwrite files that already exist' },
    json: { type: 'boolean', description: 'Print what was written as JSON' },
    debug: { type: 'boolean', description: 'Print debug information (never secrets)' },
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const { DEFAULT_MODELS_FILE } = await import('@inferstack/config');
    const { generateKeys, initProject } = await import('@inferstack/stack');
    const dir = resolve(ctx.cwd, args.dir ?? '.');
    const keys = generateKeys();
    // A last guard: nothing below prints them.
    ctx.output.addSecrets(Object.values(keys));
    const r = await initProject({ dir, force: args.force, cwd: ctx.cwd, keys });
    const o = ctx.output;
    if (args.json) {
      o.json(initJson(dir, r, (path) => relative(dir, path)));
      return ExitCode.ok;
    }
    for (const f of r.files) o.print(`${o.green('✔')} ${relative(dir, f.path).padEnd(32)} ${f.what}${f.overwritten ? ' (overwritten)' : ''}`);
    const steps = [
      ...(dir === resolve(ctx.cwd) ? [] : [`cd ${shownPath(ctx.cwd, dir)}`]),
      `edit ${DEFAULT_MODELS_FILE}: your model(s) and GPUs`,
      'for gated models (Llama, Gemma...), put your Hugging Face token in .env: HF_TOKEN=',
      'serve doctor      checks Docker, the NVIDIA runtime, GPUs, disk, model sizes, ports and keys',
      'serve plan        shows what would start',
      `serve up          starts it; the gateway answers on ${r.config.gateway.url}/v1 to the LITELLM_MASTER_KEY in .env`,
    ];
    o.print('');
    o.print('Next:');
    steps.forEach((s, i) => o.print(`  ${i + 1}. ${s}`));
    o.print('');
    o.print('.env holds keys: keep it private and out of version control.');
    return ExitCode.ok;
  },
});
