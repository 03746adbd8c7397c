import { defineCommand } from 'citty';
import { configArgs, jsonArg, strictArgs } from '../args.js';
import { commandEnv } from '../context.js';
import { ExitCode } from '../errors.js';
import { doctorJson } from '../render/json.js';
import { meta } from './meta.js';

const EXIT = { ok: ExitCode.ok, broken: ExitCode.failed, 'config-invalid': ExitCode.badInput } as const;

export default defineCommand({
  meta: meta('doctor'),
  args: { ...jsonArg, ...configArgs },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const { doctor, secretValues } = await import('@inferstack/stack');
    const report = await doctor({ configPath: args['model-config'], cwd: ctx.cwd, env: ctx.env });
    const o = ctx.output;
    if (report.config) o.addSecrets(secretValues(report.config));
    const code = EXIT[report.verdict];
    const checks = report.checks;
    if (args.json) {
      o.json(doctorJson(report, code, code === ExitCode.ok));
      return code;
    }
    const width = Math.max(...checks.map((c) => c.title.length));
    for (const c of checks) {
      const mark = c.status === 'ok' ? o.green('✔') : c.status === 'warn' ? o.yellow('!') : o.red('✖');
      o.print(`${mark} ${c.title.padEnd(width)}  ${c.message}`);
      for (const d of c.details ?? []) o.print(`    ${d}`);
      if (c.hint && c.status !== 'ok') o.print(`    ${o.dim('→')} ${c.hint}`);
    }
    const warnings = checks.filter((c) => c.status === 'warn').length;
    const failures = checks.filter((c) => c.status === 'fail').length;
    o.print('');
    o.print(failures === 0 && warnings === 0 ? 'all good' : `${failures} problem${failures === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
    return code;
  },
});
