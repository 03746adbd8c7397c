import { describe, expect, it } from 'vitest';
import { loadingPhase, loadingPhaseReader, type LoadingPhase } from './loading-phases.js';

// Lines as vLLM prints them (the process and file prefix included), see docs/upstream/vllm.md.
const LINES = [
  '(EngineCore_DP0 pid=84) INFO 12-06 21:30:01 [gpu_model_runner.py:2602] Starting to load model Qwen/Qwen3-0.6B...',
  '(EngineCore_DP0 pid=84) INFO 12-06 21:30:09 [default_loader.py:267] Loading weights took 7.91 seconds',
  '(EngineCore_DP0 pid=84) INFO 12-06 21:30:09 [gpu_model_runner.py:2653] Model loading took 1.1201 GiB and 8.312044 seconds',
  '(EngineCore_DP0 pid=84) INFO 12-06 21:30:31 [monitor.py:34] torch.compile takes 21.45 s in total',
  '(EngineCore_DP0 pid=84) INFO 12-06 21:30:40 [gpu_model_runner.py:3480] Graph capturing finished in 3 secs, took 0.59 GiB',
  '(EngineCore_DP0 pid=84) INFO 12-06 21:30:41 [core.py:210] init engine (profile, create kv cache, warmup model) took 31.77 seconds',
  '(APIServer pid=1) INFO:     Application startup complete.',
];

describe('loadingPhase', () => {
  it('reads the phases of a start from vLLM lines, with what each took', () => {
    expect(LINES.map(loadingPhase)).toEqual([
      { phase: 'loading-weights' },
      undefined,
      { phase: 'weights-loaded', gib: 1.1201, seconds: 8.312044 },
      { phase: 'compile', seconds: 21.45 },
      { phase: 'cuda-graphs', seconds: 3, gib: 0.59 },
      { phase: 'engine-ready', seconds: 31.77 },
      { phase: 'api-ready' },
    ]);
    expect(loadingPhase('INFO 12-06 21:30:41 [api_server.py:1634] Supported_tasks: [\'generate\']')).toBeUndefined();
  });

  it('reads the wording of later versions (0.12, 0.34)', () => {
    expect(loadingPhase('(EngineCore pid=9) INFO 12-06 [model_runner.py:412] Loading model from scratch...')).toEqual({ phase: 'loading-weights' });
    expect(loadingPhase('INFO [gpu_model_runner.py:3550] Model loading took 15.2615 GiB memory and 9.871234 seconds')).toEqual({ phase: 'weights-loaded', gib: 15.2615, seconds: 9.871234 });
    expect(loadingPhase('INFO [monitor.py:40] [backbone] torch.compile took 18.20 s in total')).toEqual({ phase: 'compile', seconds: 18.2 });
    expect(loadingPhase('INFO [decorators.py:90] torch.compile and initial profiling/warmup run together took 25.00 s in total')).toEqual({ phase: 'compile', seconds: 25 });
    expect(loadingPhase('INFO [core.py:445] init engine (profile, create kv cache, warmup model) took 41.30 s (compilation: 18.20 s)')).toEqual({ phase: 'engine-ready', seconds: 41.3 });
  });

  it('reads lines split over chunks, each once', () => {
    const seen: LoadingPhase[] = [];
    const feed = loadingPhaseReader((p) => seen.push(p));
    const text = `${LINES.join('\n')}\n`;
    for (let i = 0; i < text.length; i += 37) feed(text.slice(i, i + 37));
    expect(seen.map((p) => p.phase)).toEqual(['loading-weights', 'weights-loaded', 'compile', 'cuda-graphs', 'engine-ready', 'api-ready']);
  });
});
