/** Upper bounds (seconds) of the wake-latency histogram: a level-1 wake to a cold start. */
const BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The phases a model's state gauge has one series for. */
const PHASES = ['awake', 'asleep', 'deep-asleep', 'stopped-idle', 'stopped', 'waking', 'going-to-sleep', 'missing'] as const;

interface Series {
  counts: number[];
  sum: number;
  count: number;
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * The watcher's metrics in Prometheus' text format: how long wakes took
 * (`inferstack_wake_duration_seconds`, by model and what it woke from) and each model's phase
 * (`inferstack_model_phase`, 1 for the current one).
 */
export class WakeLatency {
  readonly #series = new Map<string, Series>();

  observe(model: string, from: string, seconds: number): void {
    const id = JSON.stringify([model, from]);
    let s = this.#series.get(id);
    if (!s) this.#series.set(id, (s = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) s.counts[i]! += 1;
    });
    s.sum += seconds;
    s.count += 1;
  }

  text(models: ReadonlyArray<{ model: string; phase: string }>): string {
    const lines = [
      '# HELP inferstack_wake_duration_seconds Time from a request for a sleeping or idle-stopped model until it served.',
      '# TYPE inferstack_wake_duration_seconds histogram',
    ];
    for (const [id, s] of this.#series) {
      const [model, from] = JSON.parse(id) as [string, string];
      const labels = `model="${escape(model)}",from="${escape(from)}"`;
      BUCKETS.forEach((bound, i) => lines.push(`inferstack_wake_duration_seconds_bucket{${labels},le="${bound}"} ${s.counts[i]}`));
      lines.push(`inferstack_wake_duration_seconds_bucket{${labels},le="+Inf"} ${s.count}`);
      lines.push(`inferstack_wake_duration_seconds_sum{${labels}} ${s.sum}`);
      lines.push(`inferstack_wake_duration_seconds_count{${labels}} ${s.count}`);
    }
    lines.push('# HELP inferstack_model_phase The phase of each model the watcher looks after (1 for the current one).', '# TYPE inferstack_model_phase gauge');
    for (const { model, phase } of models) {
      for (const p of PHASES) lines.push(`inferstack_model_phase{model="${escape(model)}",phase="${p}"} ${p === phase ? 1 : 0}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
