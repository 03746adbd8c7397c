import { defineCommand } from 'citty';
import { formatBytes } from '@inferstack/docker-ops';
import { configArgs, jsonArg, strictArgs } from '../args.js';
import { commandEnv, hasSeveralHosts, openStackFor } from '../context.js';
import { ExitCode } from '../errors.js';
import { formatDuration } from '../output.js';
import { pullJson } from '../render/json.js';
import { Progress } from '../render/progress.js';
import { meta } from './meta.js';

export default defineCommand({
  meta: meta('pull'),
  args: {
    models: { type: 'positional', required: false, description: 'Models to pull (default: all in the config)', valueHint: 'MODEL...' },
    ...jsonArg,
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const out = ctx.output;
    const progress = new Progress(out, { live: out.isTTY && !args.json, cwd: ctx.cwd });
    try {
      const stack = await openStackFor(ctx, args, args.json ? undefined : progress.handle);
      const r = await stack.pull({ models: args._ });
      progress.stop();
      if (args.json) {
        out.json(pullJson(r));
        return r.ok ? ExitCode.ok : ExitCode.failed;
      }
      const several = hasSeveralHosts(stack.config);
      const where = (host: string) => (several ? ` on host ${host}` : '');
      for (const m of r.models) {
        if (!m.ok) {
          out.error(`${m.key}${where(m.host)}: ${m.error.message}`, m.hint);
          continue;
        }
        const w = m.result;
        if (w.skipped) out.info(`${m.key}${where(m.host)}: nothing to pull (${w.skipped})`);
        else if (w.alreadyComplete) out.success(`${m.key}${where(m.host)}: nothing left to fetch, ${w.files} file(s), ${formatBytes(w.bytes)} in the cache`);
        else out.success(`${m.key}${where(m.host)}: ${formatBytes(w.downloadedBytes)} fetched in ${formatDuration(w.seconds * 1000)}; ${w.files} file(s), ${formatBytes(w.bytes)} in the cache`);
        if (!w.skipped && !w.offline.ready && w.offline.reason) out.warn(`${m.key}: will not start offline: ${w.offline.reason}`);
      }
      const failed = r.models.filter((m) => !m.ok).length;
      out.info(`${r.models.length - failed} pulled, ${failed} failed in ${formatDuration(r.elapsedMs)}`);
      return r.ok ? ExitCode.ok : ExitCode.failed;
    } finally {
      progress.stop();
    }
  },
});
