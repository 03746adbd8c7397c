import type { ApplyEvent } from '@inferstack/docker-ops';
import { formatDuration, type Output } from './output.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface Row {
  key: string;
  text: string;
  done: boolean;
  started: number;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/**
 * Shows `apply` progress: on a terminal one spinner line per model, redrawn in place; elsewhere
 * (CI, pipes) one plain line per event.
 */
export class Progress {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private readonly live: boolean;
  private lastPullLine = 0;

  constructor(
    private readonly out: Output,
    options: { live?: boolean } = {},
  ) {
    this.live = options.live ?? out.isTTY;
    if (this.live) {
      this.timer = setInterval(() => this.redraw(), 100);
      this.timer.unref();
    }
  }

  /** A line that stays (a result), printed above the live region. */
  line(text: string): void {
    if (!this.live) return this.out.info(text);
    this.clear();
    this.out.info(text);
    this.redraw();
  }

  private set(key: string, text: string, done = false): void {
    const row = this.rows.get(key) ?? { key, text, done, started: Date.now() };
    row.text = text;
    row.done = done;
    this.rows.set(key, row);
    if (done) {
      this.rows.delete(key);
      this.line(text);
    } else if (!this.live) {
      this.out.info(text);
    }
  }

  handle = (event: ApplyEvent): void => {
    const o = this.out;
    switch (event.type) {
      case 'network-created':
        return this.line(`${o.green('✔')} network ${event.network} created`);
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
        return this.set(`pull:${event.image}`, `${o.green('✔')} pulled ${event.image}`, true);
      case 'removing':
        return this.set(event.key, `${o.yellow('↻')} ${event.key}  removing (${event.reason})`);
      case 'removed':
        return this.set(event.key, `${o.green('✔')} ${event.key}  removed`, true);
      case 'creating':
        return this.set(event.key, `${event.key}  creating`);
      case 'starting':
        return this.set(event.key, `${event.key}  starting`);
      case 'waiting':
        return this.set(event.key, `${event.key}  loading, waiting for /health`);
      case 'ready':
        return this.set(event.key, `${o.green('✔')} ${event.key}  ready in ${formatDuration(event.elapsedMs)}`, true);
      case 'kept':
        return this.line(`${o.green('✔')} ${event.key}  unchanged, running`);
      case 'failed': {
        this.set(event.key, `${o.red('✖')} ${event.key}  ${event.error.message}`, true);
        const d = event.error.diagnosis;
        for (const advice of d?.advice ?? []) this.line(`    ${o.dim('→')} ${advice}`);
        if (event.error.hint && !d) this.line(`    ${o.dim('→')} ${event.error.hint}`);
        return;
      }
    }
  };

  private clear(): void {
    if (this.drawn > 0) {
      this.out.streams.err.write(`\x1b[${this.drawn}A\x1b[J`);
      this.drawn = 0;
    }
  }

  private redraw(): void {
    if (!this.live) return;
    this.clear();
    this.frame = (this.frame + 1) % FRAMES.length;
    const lines = [...this.rows.values()].map((r) => `${this.out.cyan(FRAMES[this.frame]!)} ${r.text}  ${this.out.dim(formatDuration(Date.now() - r.started))}`);
    for (const l of lines) this.out.streams.err.write(`${this.out.mask(l)}\n`);
    this.drawn = lines.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}
