import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { configArgs, strictArgs } from '../args.js';
import { commandEnv, openStackFor } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { DEFAULT_KUBERNETES_DIR, givenKubernetesFlags, kubernetesArgs, kubernetesOptions } from '../kubernetes-args.js';
import { shownPath } from '../output.js';
import { changeCounts, printKubernetesAdvice, printKubernetesChanges } from '../render/kubernetes.js';
import { Progress } from '../render/progress.js';
import { meta } from './meta.js';

const FORMATS = ['compose', 'kubernetes'];

export default defineCommand({
  meta: meta('export'),
  args: {
    format: { type: 'positional', required: false, description: 'What to export: compose, or kubernetes (a Kustomize directory)', valueHint: 'compose|kubernetes' },
    output: { type: 'string', alias: 'o', description: 'compose: write to this file (mode 0644) instead of stdout; kubernetes: the directory', valueHint: 'FILE' },
    ...kubernetesArgs,
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const format = args._[0];
    if (!format || !FORMATS.includes(format)) {
      throw new CliError(format ? `"serve export" cannot export "${format}"` : '"serve export" needs a format', {
        hint: `formats: ${FORMATS.join(', ')} (serve export compose -o docker-compose.yml, serve export kubernetes --out k8s)`,
      });
    }
    const kubernetesFlags = givenKubernetesFlags(args);
    if (format === 'compose' && kubernetesFlags.length > 0) throw new CliError(`--${kubernetesFlags[0]} is an option of "serve export kubernetes"`);
    const progress = new Progress(ctx.output, { live: false, cwd: ctx.cwd });
    const stack = await openStackFor(ctx, args, progress.handle);
    if (format === 'kubernetes') {
      if (args.out !== undefined && args.output !== undefined) throw new CliError('give the directory once: --out or -o');
      const dir = args.out ?? args.output ?? DEFAULT_KUBERNETES_DIR;
      const r = await stack.exportKubernetes({ ...kubernetesOptions(args), outDir: dir });
      const shown = shownPath(ctx.cwd, r.outDir!);
      printKubernetesChanges((line) => ctx.output.info(`  ${line}`), r.changes);
      ctx.output.success(`${r.hasChanges ? `wrote ${shown}/` : `${shown}/ is up to date`} (namespace ${r.namespace}; ${changeCounts(r.changes)})`);
      printKubernetesAdvice(ctx.output, r, shown);
      ctx.output.info(`  deploy with: kubectl apply -k ${shown}`);
      return ExitCode.ok;
    }
    const r = await stack.exportCompose();
    const env = shownPath(ctx.cwd, r.envFile);
    for (const s of r.secrets.filter((x) => !x.inSettings)) {
      ctx.output.warn(`\${${s.name}} (for ${s.usedBy.join(', ')}) is not set in ${env}: compose would pass an empty value; add ${s.name}=... there`);
    }
    if (args.output === undefined || args.output === '-') {
      ctx.output.write(r.text);
      return ExitCode.ok;
    }
    const target = resolve(ctx.cwd, args.output);
    try {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, r.text, { mode: 0o644 });
      chmodSync(target, 0o644);
    } catch (error) {
      throw new CliError(`cannot write ${args.output}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { exitCode: ExitCode.failed, cause: error });
    }
    ctx.output.success(`wrote ${shownPath(ctx.cwd, target)} (${Object.keys(r.compose.services).length} services; no secrets inside)`);
    ctx.output.info(`  run it with: docker compose -f ${shownPath(ctx.cwd, target)} --env-file ${env} up -d`);
    return ExitCode.ok;
  },
});
