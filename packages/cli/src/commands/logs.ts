import { defineCommand } from 'citty';
import { containerLogs, listModelContainers } from '@inferstack/docker-ops';
import { commonArgs, docker, type CommandEnv } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

export const logsArgs = {
  model: { type: 'positional', required: true, description: 'The model whose log to show', valueHint: 'MODEL' },
  follow: { type: 'boolean', alias: 'f', description: 'Keep printing new lines' },
  tail: { type: 'string', description: 'Lines from the end (default: all)', valueHint: 'N' },
  ...commonArgs,
} as const;

/** `serve logs MODEL [-f] [--tail N]`. */
export async function logs(ctx: CommandEnv, args: { model: string; follow: boolean; tail?: number }): Promise<number> {
  const client = await docker(ctx);
  const containers = (await listModelContainers(client)).filter((c) => c.key === args.model);
  const container = containers.find((c) => c.state === 'running') ?? containers[0];
  if (!container) {
    throw new CliError(`no container for model "${args.model}"`, { exitCode: ExitCode.badInput, hint: 'see "serve status" for the models that have one' });
  }
  if (!args.follow) {
    ctx.output.print(ctx.output.mask((await containerLogs(client, container.id, args.tail ?? 100_000)).trimEnd()));
    return ExitCode.ok;
  }
  const stream = (await client
    .getContainer(container.id)
    .logs({ stdout: true, stderr: true, follow: true, ...(args.tail !== undefined ? { tail: args.tail } : {}) })) as unknown as NodeJS.ReadableStream;
  const write = (chunk: Buffer) => ctx.output.streams.out.write(ctx.output.mask(chunk.toString('utf8')));
  await new Promise<void>((resolve) => {
    client.modem.demuxStream(stream, { write } as unknown as NodeJS.WritableStream, { write } as unknown as NodeJS.WritableStream);
    stream.on('end', resolve);
    ctx.signal.addEventListener('abort', () => {
      (stream as unknown as { destroy(): void }).destroy();
      resolve();
    });
  });
  return ExitCode.ok;
}

export const logsCommand = defineCommand({ meta: { name: 'logs', description: "Print a model container's log" }, args: logsArgs });
