import { defineCommand } from 'citty';
import { configArgs, strictArgs, wholeNumber } from '../args.js';
import { commandEnv, openStackFor } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { meta } from './meta.js';

export default defineCommand({
  meta: meta('logs'),
  args: {
    // Checked below, so that a missing model and two models get the same kind of message.
    model: { type: 'positional', required: false, description: 'The model whose log to show', valueHint: 'MODEL' },
    follow: { type: 'boolean', alias: 'f', description: 'Keep printing new lines' },
    tail: { type: 'string', description: 'Lines from the end (default: all)', valueHint: 'N' },
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    if (args._.length === 0) throw new CliError('Missing required positional argument: MODEL', { hint: 'serve logs MODEL [-f] [--tail N]' });
    if (args._.length > 1) throw new CliError('"serve logs" takes exactly one model', { hint: 'serve logs MODEL [-f] [--tail N]' });
    const tail = wholeNumber('tail', args.tail);
    const stack = await openStackFor(ctx, args);
    const out = ctx.output;
    const text = await stack.logs(args._[0]!, {
      ...(tail !== undefined ? { tail } : {}),
      follow: args.follow,
      onData: (chunk) => out.write(chunk),
    });
    if (!args.follow) out.print(text.trimEnd());
    return ExitCode.ok;
  },
});
