import type { StackEvent } from '@inferstack/stack';
import { formatBytes, formatWeightsProgress } from '@inferstack/docker-ops';
import { formatDuration, shownPath, type Output } from '../output.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface Row {
  key: string;
  text: string;
  started: number;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** `[██████░░░░░░░░]`: how much of `total` is done. */
function bar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

function pad(name: string): string {
  return name.padEnd(12);
}

/**
 * Renders a stack's events through the CLI's consola: on a terminal one spinner line per model in
 * progress, redrawn in place (the reporter's live region), and a line that stays for each result;
 * elsewhere (CI, pipes) one plain line per event.
 */
export class Progress {
  private readonly rows = new Map<string, Row>();
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private readonly live: boolean;
  private lastPullLine = 0;
  /** When each model's last plain weights line was written (one every 5 s at most). */
  private readonly lastWeightsLine = new Map<string, number>();

  constructor(
    private readonly out: Output,
    private readonly options: { live?: boolean; cwd: string },
  ) {
    this.live = options.live ?? out.isTTY;
    if (this.live) {
      this.timer = setInterval(() => this.tick(), 100);
      this.timer.unref();
    }
  }

  /** A line that stays (a result), written above the spinners. */
  line(text: string): void {
    this.out.info(text);
  }

  /** `✔ text`, a line that stays. */
  private done(text: string): void {
    this.out.success(text);
  }

  /** `! text`, a line that stays. */
  private warning(text: string): void {
    this.out.warn(text);
  }

  private set(key: string, text: string): void {
    const row = this.rows.get(key) ?? { key, text, started: Date.now() };
    row.text = text;
    this.rows.set(key, row);
    if (this.live) this.draw();
    else this.out.info(text);
  }

  /** A row's result: the spinner goes, the line stays. */
  private finish(key: string, write: () => void): void {
    this.rows.delete(key);
    if (this.live) this.draw();
    write();
  }

  private failure(text: string, hint?: string): void {
    this.out.error(text, hint);
  }

  handle = (received: StackEvent): void => {
    const o = this.out;
    // A model's replicas other than the first are shown, and tracked, as `key#i`.
    const event = 'replica' in received && typeof received.replica === 'number' && 'key' in received ? ({ ...received, key: `${received.key}#${received.replica}` } as StackEvent) : received;
    switch (event.type) {
      case 'network-created':
        return this.done(`network ${event.network} created`);
      case 'pulling': {
        const p = event.progress;
        const text = p && p.totalBytes > 0 ? `pulling ${event.image}  ${mib(p.currentBytes)} / ${mib(p.totalBytes)}  (${p.layersDone}/${p.layers} layers)` : `pulling ${event.image}`;
        if (this.live) return this.set(`pull:${event.image}`, `${o.cyan('↓')} ${text}`);
        // Plain output: one line every 5 s at most.
        if (Date.now() - this.lastPullLine > 5000) {
          this.lastPullLine = Date.now();
          o.info(`↓ ${text}`);
        }
        return;
      }
      case 'pulled':
        return this.finish(`pull:${event.image}`, () => this.done(`pulled ${event.image}`));
      case 'weights-fallback':
        return this.line(`${pad(event.key)} ${event.image} has no Hugging Face client (${event.reason}): pulling with ${event.fallback}`);
      case 'weights-listed':
        return this.set(
          `weights:${event.key}`,
          `${o.cyan('↓')} ${pad(event.key)} weights: ${event.files} file(s), ${formatBytes(event.totalBytes)}${event.missingBytes > 0 ? `, ${formatBytes(event.missingBytes)} to fetch` : ', all in the cache'} (${event.repo}@${event.revision})`,
        );
      case 'weights-progress': {
        const text = `${pad(event.key)} ${formatWeightsProgress(event)}`;
        if (this.live) return this.set(`weights:${event.key}`, `${o.cyan('↓')} ${bar(event.doneBytes, event.totalBytes)} ${text}`);
        const last = this.lastWeightsLine.get(event.key) ?? 0;
        if (Date.now() - last < 5000) return;
        this.lastWeightsLine.set(event.key, Date.now());
        return o.info(`↓ ${text}`);
      }
      case 'weights-retry':
        return this.warning(`${pad(event.key)} ${event.repo}: ${event.reason}; trying again in ${formatDuration(event.delayMs)} (attempt ${event.attempt + 1})`);
      case 'weights-file':
        return;
      case 'weights-done':
        this.lastWeightsLine.delete(event.key);
        return this.finish(`weights:${event.key}`, () =>
          this.done(
            event.alreadyComplete
              ? `${pad(event.key)} weights: nothing left to fetch (${event.files} file(s), ${formatBytes(event.bytes)})`
              : `${pad(event.key)} weights: ${formatBytes(event.downloadedBytes)} fetched in ${formatDuration(event.seconds * 1000)} (${event.files} file(s), ${formatBytes(event.bytes)})`,
          ),
        );
      case 'removing':
        return this.set(event.key, `${o.yellow('↻')} ${event.key}  removing (${event.reason})`);
      case 'removed':
        return this.finish(event.key, () => this.done(`${event.key}  removed`));
      case 'stopped':
        return this.done(`${event.key}  stopped`);
      case 'stop-failed':
        return this.failure(`${event.key}: ${event.error.message}`);
      case 'creating':
        return this.set(event.key, `${event.key}  creating`);
      case 'starting':
        return this.set(event.key, `${event.key}  starting`);
      case 'waiting':
        return this.set(event.key, `${event.key}  loading, waiting for /health`);
      case 'loading': {
        // vLLM's phases from its log: the row says where it is; a phase done is a line of its own when not live.
        const took = (what: string) => `${what}${event.seconds !== undefined ? ` in ${formatDuration(event.seconds * 1000)}` : ''}${event.gib !== undefined ? ` (${event.gib.toFixed(2)} GiB)` : ''}`;
        const [now, done] =
          event.phase === 'loading-weights'
            ? ['loading weights', undefined]
            : event.phase === 'weights-loaded'
              ? ['weights loaded; compiling, capturing CUDA graphs', took('weights loaded')]
              : event.phase === 'compile'
                ? ['compiled; capturing CUDA graphs', took('torch.compile')]
                : event.phase === 'cuda-graphs'
                  ? ['CUDA graphs captured; starting the engine', took('CUDA graphs captured')]
                  : event.phase === 'engine-ready'
                    ? ['engine ready; starting the API server', took('engine initialised')]
                    : ['API server up, waiting for /health', undefined];
        if (this.live) return this.set(event.key, `${event.key}  ${now}`);
        return done ? this.line(`${pad(event.key)} ${done}`) : undefined;
      }
      case 'ready':
        return this.finish(event.key, () => this.done(`${event.key}  ready in ${formatDuration(event.elapsedMs)}`));
      case 'kept':
        return this.done(`${event.key}  unchanged, running`);
      case 'replacing':
        return event.strategy === 'rolling'
          ? this.line(`${o.cyan('↻')} ${event.key}  rolling replacement: the new container starts beside the old one`)
          : this.line(`${o.yellow('↻')} ${event.key}  replacing in place (downtime): ${event.why ?? 'the old container goes first'}`);
      case 'routed':
        return this.done(`${event.key}  routed again`);
      case 'replaced':
        return this.done(`${event.key}  replaced: the new container serves under the usual name`);
      case 'draining':
        return this.line(`${event.key}  draining: ${event.inFlight} request(s) in flight finish first`);
      case 'drained':
        return event.drained
          ? this.done(`${event.key}  drained in ${formatDuration(event.elapsedMs)}`)
          : this.warning(`${event.key}  ${event.inFlight ?? 'some'} request(s) still in flight after ${formatDuration(event.elapsedMs)}: stopping anyway (--drain-timeout)`);
      case 'failed': {
        this.finish(event.key, () => this.failure(`${event.key}  ${event.error.message}`));
        const d = event.error.diagnosis;
        for (const advice of d?.advice ?? []) this.line(`    ${o.dim('→')} ${advice}`);
        if (event.error.hint && !d) this.line(`    ${o.dim('→')} ${event.error.hint}`);
        return;
      }
      case 'lock-wait': {
        const h = event.holder;
        return this.line(`waiting for another serve run to finish (pid ${h.pid} on ${h.hostname}${h.container ? ` in container ${h.container.slice(0, 12)}` : ''}, ${h.command}, since ${h.since})`);
      }
      case 'host-failed':
        return this.failure(`host ${event.host}: ${event.error.message}; the other hosts go on`, event.hint);
      case 'service-ready': {
        const what = `${event.action}${event.reloaded ? ' (config reloaded)' : ''}`;
        const name = event.service === 'gateway' ? `${pad('gateway')} ${event.container}` : event.host ? `${pad(event.service)} on host ${event.host},` : pad(event.service);
        return this.done(`${name} ${what}${event.url ? `, ${event.url}` : ''}`);
      }
      case 'service-removed':
        return this.done(`${event.container}${event.host ? ` on host ${event.host}` : ''}  removed${event.volumes ? ' (with its volumes)' : ''}`);
      case 'service-failed':
        return this.failure(`${event.service}${event.host ? ` on host ${event.host}` : ''}: ${event.error.message}`, (event.error as { hint?: string }).hint);
      case 'gateway-synced': {
        const g = event.result;
        if (g.plan) {
          for (const l of g.plan) this.line(`  gateway plan: ${l}`);
          return;
        }
        const how = g.restarted ? ' (gateway restarted to load them)' : g.applied && g.mode === 'config' ? ' (live in the running gateway)' : '';
        return this.done(`${pad('gateway')} ${g.routed.length} model(s) routed${how}`);
      }
      case 'gateway-failed':
        return this.failure(`gateway sync failed: ${event.error.message}`, event.hint);
      case 'prometheus-synced': {
        const m = event.result;
        if (m.targets.length > 0 && m.targets.every((t) => t.health === 'planned')) return this.line(`  prometheus plan: ${m.targets.length} target(s): ${m.targets.map((t) => t.target).join(', ')}`);
        const pending = m.targets.filter((t) => t.health === 'unknown');
        const down = m.targets.filter((t) => t.health !== 'up' && t.health !== 'unknown');
        const parts = [
          down.length === 0 && pending.length === 0 ? 'all up' : '',
          pending.length > 0 ? `${pending.length} waiting for the first scrape` : '',
          down.length > 0 ? `${down.length} down: ${down.map((t) => `${t.model}${t.lastError ? ` (${t.lastError})` : ''}`).join(', ')}` : '',
        ].filter(Boolean);
        const summary = `${pad('prometheus')} ${m.targets.length} target(s), ${parts.join(', ')}`;
        if (down.length > 0) this.warning(summary);
        else this.done(summary);
        for (const w of m.warnings) this.line(`  ${o.yellow('!')} ${w}`);
        return;
      }
      case 'prometheus-failed':
        return this.failure(`prometheus sync failed: ${event.error.message}`, event.hint);
      case 'file-written':
        return this.line(`wrote ${shownPath(this.options.cwd, event.path)} (${event.what})`);
      case 'model-put-away': {
        const what = event.action === 'stop' ? 'stopped' : event.action === 'deep-sleep' ? 'asleep (level 2)' : 'asleep';
        return this.line(`${o.cyan('☾')} ${pad(event.key)} ${what}: ${event.reason === 'idle' ? 'idle' : 'its swap group serves another model'}`);
      }
      case 'model-woken':
        return this.done(`${pad(event.key)} ${event.from === 'stopped-idle' ? 'started' : 'awake'} for a request in ${formatDuration(event.elapsedMs)}`);
      case 'model-swapped-out':
        return this.line(`${o.cyan('⇄')} ${pad(event.key)} made room for ${event.for}`);
      case 'scaling':
        return this.line(`${o.cyan(event.direction === 'up' ? '▲' : '▼')} ${pad(event.key)} ${event.direction === 'up' ? `adding replica ${event.replica}` : `taking replica ${event.replica} away`} (${event.why})`);
      case 'scaled':
        return this.done(`${pad(event.key)} ${event.replicas} replica(s) serve${event.direction === 'up' ? `: replica ${event.replica} routed` : `: replica ${event.replica} removed`}`);
      case 'serving-changed':
        for (const key of event.unrouted) this.warning(`${pad(key)} stopped serving: unrouted`);
        for (const key of event.routed) this.done(`${pad(key)} serves again: routed`);
        return;
      case 'watcher-listening':
        return this.line(`watching; wake requests on http://${event.address}`);
      case 'note':
        if (event.level === 'debug') return o.debug(event.message);
        return this.warning(`${event.message}`);
    }
  };

  /** The next spinner frame (every 100 ms on a terminal). */
  tick(): void {
    if (!this.live) return;
    this.frame = (this.frame + 1) % FRAMES.length;
    this.draw();
  }

  private draw(): void {
    this.out.live([...this.rows.values()].map((r) => `${this.out.cyan(FRAMES[this.frame]!)} ${r.text}  ${this.out.dim(formatDuration(Date.now() - r.started))}`));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.live) this.out.live([]);
  }
}
