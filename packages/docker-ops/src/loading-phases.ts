/**
 * vLLM's loading phases, read from its log lines while a model starts: what `up` shows between
 * "starting" and "ready" (which weights, compile, CUDA graphs, how long each took). Pure: a line
 * in, a phase or nothing out. The lines and the versions that print them are listed in
 * docs/upstream/vllm.md ("Loading phases"); readiness never depends on them (it is probed over
 * HTTP), so a line that changes wording only hides a phase.
 */

/** One phase as a log line reports it: started (`seconds` unset) or done, with how long it took. */
export interface LoadingPhase {
  phase: 'loading-weights' | 'weights-loaded' | 'compile' | 'cuda-graphs' | 'engine-ready' | 'api-ready';
  /** How long the phase took, as vLLM says (seconds). */
  seconds?: number;
  /** Memory it took (GiB), where vLLM says. */
  gib?: number;
}

const PATTERNS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => LoadingPhase]> = [
  // 0.11/0.12 name the model; 0.34's model runner says it loads "from scratch".
  [/Starting to load model (.+?)\.\.\.|Loading model from scratch\.\.\./, () => ({ phase: 'loading-weights' })],
  // 0.11: "GiB and"; 0.12 and later: "GiB memory and".
  [/Model loading took ([\d.]+) GiB(?: memory)? and ([\d.]+) seconds/, (m) => ({ phase: 'weights-loaded', gib: Number(m[1]), seconds: Number(m[2]) })],
  // 0.11/0.12: "takes"; 0.34: "took", with a "[tag] " prefix, or "together with the warm-up run".
  [/torch\.compile (?:takes|took|and initial profiling\/warmup run together took) ([\d.]+) s in total/, (m) => ({ phase: 'compile', seconds: Number(m[1]) })],
  [/Graph capturing finished in ([\d.]+) secs?(?:, took ([\d.]+) GiB)?/, (m) => ({ phase: 'cuda-graphs', seconds: Number(m[1]), ...(m[2] ? { gib: Number(m[2]) } : {}) })],
  // 0.11/0.12: "took X seconds"; 0.34: "took X s", maybe followed by "(compilation: ...)".
  [/init engine \(profile, create kv cache, warmup model\) took ([\d.]+) s(?:econds)?\b/, (m) => ({ phase: 'engine-ready', seconds: Number(m[1]) })],
  [/Application startup complete\./, () => ({ phase: 'api-ready' })],
];

/** The phase a vLLM log line reports, if any. */
export function loadingPhase(line: string): LoadingPhase | undefined {
  for (const [pattern, build] of PATTERNS) {
    const m = pattern.exec(line);
    if (m) return build(m);
  }
  return undefined;
}

/** Feed log text as it comes (chunks may split lines); `onPhase` gets each phase once per line. */
export function loadingPhaseReader(onPhase: (phase: LoadingPhase) => void): (text: string) => void {
  let rest = '';
  return (text) => {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const phase = loadingPhase(line);
      if (phase) onPhase(phase);
    }
  };
}
