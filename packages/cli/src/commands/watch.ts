import { defineCommand } from 'citty';
import { configArgs, strictArgs } from '../args.js';
import { commandEnv, openStackFor } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { Progress } from '../render/progress.js';
import { meta } from './meta.js';

/** `host:port`, `:port` or `port` → where to listen. */
function listenAddress(value: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new CliError(`--listen takes host:port, :port or a port, not "${value}"`, { hint: 'e.g. --listen 127.0.0.1:8787' });
  return { host: (m[1] || '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port };
}

export default defineCommand({
  meta: meta('watch'),
  args: {
    listen: { type: 'string', description: "Where to answer wake requests, /state and /metrics (default: this machine's address on the stack's network, port 8787, where the gateway's container reaches it)", valueHint: 'HOST:PORT' },
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const listen = args.listen !== undefined ? listenAddress(args.listen) : undefined;
    const progress = new Progress(ctx.output, { cwd: ctx.cwd, live: false });
    const stack = await openStackFor(ctx, args, progress.handle);
    try {
      await stack.watch({ ...(listen !== undefined ? { listen } : {}) });
    } finally {
      progress.stop();
    }
    // Ctrl-C (or SIGTERM from Docker) ends it: that is how it stops.
    return ctx.signal.aborted ? ExitCode.ok : ExitCode.failed;
  },
});
