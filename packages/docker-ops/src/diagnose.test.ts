import { describe, expect, it } from 'vitest';
import { DIAGNOSIS_CAUSES, diagnoseStartupFailure, type DiagnosisCause, type DiagnosisContext } from './diagnose.js';

// Message texts are vLLM's, Hugging Face Hub's, PyTorch's, NCCL's and argparse's own, as printed
// by the vLLM versions noted (the wording changed over time; each form is tested).

const KV_V1_OLD =
  "(EngineCore_DP0 pid=268) ERROR 10-21 00:35:03 [core.py:708] ValueError: To serve at least one request with the models's max seq len (262144), (24.00 GiB KV cache is needed, which is larger than the available KV cache memory (8.04 GiB). Based on the available memory, the estimated maximum model length is 87840. Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.";

/** A realistic failing start (vLLM 0.11, V1 engine): noise, a traceback, the root cause, the wrapper. */
const KV_LOG = `INFO 10-21 00:33:12 [__init__.py:216] Automatically detected platform cuda.
(APIServer pid=1) INFO 10-21 00:33:15 [api_server.py:1839] vLLM API server version 0.11.0
(APIServer pid=1) INFO 10-21 00:33:15 [utils.py:233] non-default args: {'model_tag': 'Qwen/Qwen3-VL-30B-A3B-Instruct', 'host': '0.0.0.0', 'model': 'Qwen/Qwen3-VL-30B-A3B-Instruct', 'trust_remote_code': True, 'max_model_len': 262144}
(APIServer pid=1) INFO 10-21 00:33:24 [model.py:547] Resolved architecture: Qwen3VLMoeForConditionalGeneration
(APIServer pid=1) INFO 10-21 00:33:24 [model.py:1510] Using max model len 262144
(EngineCore_DP0 pid=268) INFO 10-21 00:33:35 [core.py:644] Waiting for init message from front-end.
(EngineCore_DP0 pid=268) INFO 10-21 00:33:40 [gpu_model_runner.py:2602] Starting to load model Qwen/Qwen3-VL-30B-A3B-Instruct...
(EngineCore_DP0 pid=268) INFO 10-21 00:34:31 [default_loader.py:267] Loading weights took 48.12 seconds
(EngineCore_DP0 pid=268) INFO 10-21 00:34:32 [gpu_model_runner.py:2653] Model loading took 58.41 GiB and 50.37 seconds
(EngineCore_DP0 pid=268) INFO 10-21 00:34:58 [gpu_worker.py:298] Available KV cache memory: 8.04 GiB
(EngineCore_DP0 pid=268) ERROR 10-21 00:35:03 [core.py:708] EngineCore failed to start.
(EngineCore_DP0 pid=268) ERROR 10-21 00:35:03 [core.py:708] Traceback (most recent call last):
(EngineCore_DP0 pid=268) ERROR 10-21 00:35:03 [core.py:708]   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 699, in run_engine_core
(EngineCore_DP0 pid=268) ERROR 10-21 00:35:03 [core.py:708]     engine_core = EngineCoreProc(*args, **kwargs)
(EngineCore_DP0 pid=268) ERROR 10-21 00:35:03 [core.py:708]   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/core/kv_cache_utils.py", line 1062, in check_enough_kv_cache_memory
(EngineCore_DP0 pid=268) ERROR 10-21 00:35:03 [core.py:708]     raise ValueError(
${KV_V1_OLD}
(EngineCore_DP0 pid=268) Process EngineCore_DP0:
(EngineCore_DP0 pid=268) Traceback (most recent call last):
(EngineCore_DP0 pid=268)   File "/usr/lib/python3.12/multiprocessing/process.py", line 314, in _bootstrap
(EngineCore_DP0 pid=268)     self.run()
(APIServer pid=1) Traceback (most recent call last):
(APIServer pid=1)   File "/usr/local/bin/vllm", line 10, in <module>
(APIServer pid=1)     sys.exit(main())
(APIServer pid=1) RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
`;

/** A healthy start, with lines that look alarming out of context. */
const NORMAL_LOG = `INFO 11-02 09:12:01 [__init__.py:216] Automatically detected platform cuda.
(APIServer pid=1) INFO 11-02 09:12:04 [api_server.py:1839] vLLM API server version 0.11.0
(APIServer pid=1) INFO 11-02 09:12:04 [utils.py:233] non-default args: {'model_tag': 'Qwen/Qwen3-4B-Instruct-2507', 'host': '0.0.0.0', 'trust_remote_code': True, 'max_model_len': 16384, 'gpu_memory_utilization': 0.9}
(EngineCore_DP0 pid=120) INFO 11-02 09:12:20 [parallel_state.py:1208] rank 0 in world size 1 is assigned as DP rank 0, PP rank 0, TP rank 0, EP rank 0
(EngineCore_DP0 pid=120) INFO 11-02 09:12:31 [default_loader.py:267] Loading weights took 3.02 seconds
(EngineCore_DP0 pid=120) INFO 11-02 09:12:32 [gpu_model_runner.py:2653] Model loading took 7.63 GiB and 10.40 seconds
(EngineCore_DP0 pid=120) INFO 11-02 09:12:49 [gpu_worker.py:298] Available KV cache memory: 113.84 GiB
(EngineCore_DP0 pid=120) INFO 11-02 09:12:49 [kv_cache_utils.py:1087] GPU KV cache size: 829,008 tokens
(EngineCore_DP0 pid=120) INFO 11-02 09:12:49 [kv_cache_utils.py:1091] Maximum concurrency for 16,384 tokens per request: 50.60x
(EngineCore_DP0 pid=120) WARNING 11-02 09:12:50 [cudagraph_dispatcher.py:102] cudagraph dispatching keys are not initialized. No cudagraph will be used.
Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:04<00:00, 15.21it/s]
(APIServer pid=1) WARNING 11-02 09:13:01 [model.py:1389] Default sampling parameters have been overridden by the model's Hugging Face generation config recommended from the model creator.
(APIServer pid=1) INFO 11-02 09:13:01 [api_server.py:1634] Starting vLLM API server 0 on http://0.0.0.0:8000
(APIServer pid=1) INFO 11-02 09:13:01 [launcher.py:34] Available routes are:
(APIServer pid=1) INFO 11-02 09:13:01 [launcher.py:42] Route: /health, Methods: GET
(APIServer pid=1) INFO:     Started server process [1]
(APIServer pid=1) INFO:     Waiting for application startup.
(APIServer pid=1) INFO:     Application startup complete.
(APIServer pid=1) INFO:     172.18.0.5:40312 - "POST /v1/chat/completions HTTP/1.1" 401 Unauthorized
(APIServer pid=1) INFO:     172.18.0.5:40314 - "GET /health HTTP/1.1" 200 OK
`;

const GATED_401 = `(APIServer pid=1) Traceback (most recent call last):
(APIServer pid=1)   File "/usr/local/lib/python3.12/dist-packages/huggingface_hub/utils/_http.py", line 409, in hf_raise_for_status
(APIServer pid=1)     response.raise_for_status()
(APIServer pid=1) requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/resolve/main/config.json
(APIServer pid=1) The above exception was the direct cause of the following exception:
(APIServer pid=1) huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-6720f1a2-4b1c0e7d2f9a3b5c6d7e8f90;0b5e2f1c-7a3d-4e9b-8c6f-1d2e3f4a5b6c)
(APIServer pid=1)
(APIServer pid=1) Cannot access gated repo for url https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/resolve/main/config.json.
(APIServer pid=1) Access to model meta-llama/Llama-3.1-8B-Instruct is restricted. You must have access to it and be authenticated to access it. Please log in.
(APIServer pid=1) During handling of the above exception, another exception occurred:
(APIServer pid=1) ValueError: Invalid repository ID or local directory specified: 'meta-llama/Llama-3.1-8B-Instruct'.
(APIServer pid=1) Please verify the following requirements:
(APIServer pid=1) 1. Provide a valid Hugging Face repository ID.
(APIServer pid=1) 2. Specify a local directory that contains a recognized configuration file.
(APIServer pid=1)    - For Hugging Face models: ensure the presence of a 'config.json'.
(APIServer pid=1)    - For Mistral models: ensure the presence of a 'params.json'.
`;

const GATED_403 = `huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: Root=1-6720f2b3-1a2b3c4d5e6f708192a3b4c5;d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6)

Cannot access gated repo for url https://huggingface.co/google/gemma-2-9b-it/resolve/main/config.json.
Access to model google/gemma-2-9b-it is restricted and you are not in the authorized list. Visit https://huggingface.co/google/gemma-2-9b-it to ask for access.
ValueError: Invalid repository ID or local directory specified: 'google/gemma-2-9b-it'.`;

const NOT_FOUND_401 = `huggingface_hub.errors.RepositoryNotFoundError: 401 Client Error. (Request ID: Root=1-6720f3c4-5d6e7f8091a2b3c4d5e6f708;aa11bb22-cc33-4d44-8e55-ff6677889900)

Repository Not Found for url: https://huggingface.co/api/models/Qwen/Qwen3-4Bx/revision/main.
Please make sure you specified the correct \`repo_id\` and \`repo_type\`.
If you are trying to access a private or gated repo, make sure you are authenticated.
Invalid username or password.`;

const CUDA_OOM_LOADING = `(EngineCore_DP0 pid=77) INFO 09-14 11:02:10 [gpu_model_runner.py:1953] Starting to load model meta-llama/Llama-3.3-70B-Instruct...
(EngineCore_DP0 pid=77) ERROR 09-14 11:03:41 [core.py:700] torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. GPU 0 has a total capacity of 79.10 GiB of which 120.00 MiB is free. Including non-PyTorch memory, this process has 78.97 GiB memory in use. Of the allocated memory 77.12 GiB is allocated by PyTorch, and 1.21 GiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)
(EngineCore_DP0 pid=77) [rank1]:[E914 11:03:42.118 ProcessGroupNCCL.cpp:1896] ncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error.
(APIServer pid=1) RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}`;

const CUDA_OOM_AFTER_LOAD = `INFO 05-02 14:20:11 model_runner.py:1071] Loading model weights took 13.4966 GB
INFO 05-02 14:20:15 model_runner.py:1402] Capturing the model for CUDA graphs. This may lead to unexpected consequences if the model is not static.
torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity; 21.96 GiB already allocated; 1.20 GiB free; 22.01 GiB reserved in total by PyTorch) If reserved memory is >> allocated memory try setting max_split_size_mb to avoid fragmentation.  See documentation for Memory Management and PYTORCH_CUDA_ALLOC_CONF`;

interface Row {
  name: string;
  log: string;
  ctx?: DiagnosisContext;
  cause: DiagnosisCause;
  /** Expected suggestion; `null` asserts there is none. */
  suggestion?: { key: string; value: string | number } | null;
  summary?: string;
  advice?: string;
  evidence?: string;
}

const qwen = (extra: Partial<NonNullable<DiagnosisContext['spec']>> = {}): DiagnosisContext => ({
  spec: { key: 'qwen-4b', ...extra },
});

const TABLE: Row[] = [
  // KV cache smaller than one max-length request.
  {
    name: 'KV cache too small, realistic 0.11 log with traceback and wrapper',
    log: KV_LOG,
    ctx: qwen(),
    cause: 'kv-cache-too-small',
    suggestion: { key: 'max-model-len', value: 87840 },
    summary: 'One 262144-token request needs 24.00 GiB of KV cache; only 8.04 GiB is left',
    advice: 'Set `max-model-len: 87840` for `qwen-4b`',
    evidence: 'the estimated maximum model length is 87840',
  },
  {
    name: "KV cache too small, newer wording (model's, docs link)",
    log: "(EngineCore_DP0 pid=412) ERROR 01-12 08:01:55 [core.py:866] ValueError: To serve at least one request with the model's max seq len (131072), (3.79 GiB KV cache is needed, which is larger than the available KV cache memory (3.12 GiB). Based on the available memory, the estimated maximum model length is 7740. Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine. See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details.",
    cause: 'kv-cache-too-small',
    suggestion: { key: 'max-model-len', value: 7740 },
  },
  {
    name: 'KV cache too small, no estimate printed',
    log: "ValueError: To serve at least one request with the models's max seq len (32768), (4.00 GiB KV cache is needed, which is larger than the available KV cache memory (-0.52 GiB). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
    ctx: qwen({ gpuMemoryUtilization: 0.6 }),
    cause: 'kv-cache-too-small',
    suggestion: null,
    summary: 'One 32768-token request needs 4.00 GiB of KV cache; nothing is left after the weights',
    advice: 'raise `gpu-memory-utilization` (now 0.60)',
  },
  {
    name: 'KV cache too small, V0 engine wording',
    log: "ValueError: The model's max seq len (32768) is larger than the maximum number of tokens that can be stored in KV cache (27296). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
    cause: 'kv-cache-too-small',
    suggestion: { key: 'max-model-len', value: 27296 },
    summary: 'The KV cache holds 27296 tokens, fewer than one 32768-token request',
  },
  // No memory at all for the KV cache.
  {
    name: 'no cache blocks, utilisation known',
    log: 'ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.',
    ctx: qwen({ gpuMemoryUtilization: 0.85 }),
    cause: 'no-cache-blocks',
    suggestion: { key: 'gpu-memory-utilization', value: 0.9 },
    advice: 'Raise `gpu-memory-utilization` of `qwen-4b` (now 0.85), e.g. to 0.90',
  },
  {
    name: 'no cache blocks, default utilisation',
    log: '(EngineCore_DP0 pid=88) ERROR 07-30 10:11:12 [core.py:586] ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.',
    cause: 'no-cache-blocks',
    suggestion: { key: 'gpu-memory-utilization', value: 0.95 },
  },
  {
    name: 'no cache blocks, already at 0.95',
    log: 'ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.',
    ctx: qwen({ gpuMemoryUtilization: 0.95 }),
    cause: 'no-cache-blocks',
    suggestion: null,
    advice: 'quantised model',
  },
  // Another process holds GPU memory.
  {
    name: 'free memory below utilisation, cuda:N form, host GPU named',
    log: '(EngineCore_DP0 pid=17635) ValueError: Free memory on device cuda:0 (15.32/22.04 GiB) on startup is less than desired GPU memory utilization (0.88, 19.39 GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.',
    ctx: qwen({ gpus: { kind: 'devices', indices: [2] }, gpuMemoryUtilization: 0.88 }),
    cause: 'gpu-memory-in-use',
    suggestion: { key: 'gpu-memory-utilization', value: 0.67 },
    summary: 'Only 15.32 of 22.04 GiB was free on cuda:0 (host GPU 2) at start; gpu-memory-utilization 0.88 wants 19.39 GiB',
    advice: 'Another process holds 6.7 GiB of cuda:0 (host GPU 2): stop it, or set `gpu-memory-utilization: 0.67` for `qwen-4b`.',
  },
  {
    name: 'free memory below utilisation, older form without device',
    log: 'ValueError: Free memory on device (61.05/119.7 GiB) on startup is less than desired GPU memory utilization (0.52, 62.24 GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.',
    cause: 'gpu-memory-in-use',
    suggestion: { key: 'gpu-memory-utilization', value: 0.49 },
    summary: 'on the GPU at start',
  },
  {
    name: 'free memory below utilisation on the busy H200 (29 GiB held elsewhere)',
    log: '(EngineCore_DP0 pid=253) ValueError: Free memory on device cuda:0 (111.26/140.4 GiB) on startup is less than desired GPU memory utilization (0.9, 126.36 GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.',
    cause: 'gpu-memory-in-use',
    suggestion: { key: 'gpu-memory-utilization', value: 0.77 },
  },
  // CUDA OOM.
  {
    name: 'CUDA OOM while loading (torch ≥ 2.4 wording), NCCL noise after it',
    log: CUDA_OOM_LOADING,
    cause: 'cuda-oom',
    suggestion: null,
    summary: 'CUDA ran out of memory while loading the weights on GPU 0 (allocating 224.00 MiB)',
    advice: 'The weights do not fit: use a quantised model, or more GPUs with `tensor-parallel-size`.',
  },
  {
    name: 'CUDA OOM after loading (torch 2.0 wording, V0 engine)',
    log: CUDA_OOM_AFTER_LOAD,
    ctx: qwen({ gpuMemoryUtilization: 0.9 }),
    cause: 'cuda-oom',
    summary: 'CUDA ran out of memory after the weights were loaded on GPU 0 (allocating 2.00 GiB)',
    advice: 'Lower `gpu-memory-utilization` (now 0.90) or `max-num-seqs` of `qwen-4b`, or add `--enforce-eager`',
  },
  // Hugging Face access, checked before "Invalid repository ID" that vLLM raises on top.
  {
    name: 'gated repo, no token (401), then vLLM\'s Invalid repository ID',
    log: GATED_401,
    ctx: qwen(),
    cause: 'hf-auth',
    suggestion: null,
    summary: 'Hugging Face refused access to meta-llama/Llama-3.1-8B-Instruct (401: no valid token)',
    advice: 'Set HF_TOKEN in .env',
    evidence: '401 Client Error',
  },
  {
    name: 'gated repo, token without access (403)',
    log: GATED_403,
    cause: 'hf-auth',
    summary: 'google/gemma-2-9b-it (403',
    advice: 'https://huggingface.co/google/gemma-2-9b-it',
  },
  {
    name: 'repo not found with a 401 (typo or private)',
    log: NOT_FOUND_401,
    ctx: qwen(),
    cause: 'hf-auth',
    summary: 'Qwen/Qwen3-4Bx',
    advice: 'If the id is misspelled, fix `model` of `qwen-4b`',
  },
  {
    name: 'huggingface.co unreachable',
    log: "OSError: We couldn't connect to 'https://huggingface.co' to load this file, couldn't find it in the cached files and it looks like Qwen/Qwen3-4B is not the path to a directory containing a file named config.json.\nCheckout your internet connection or see how to run the library in offline mode at 'https://huggingface.co/docs/transformers/installation#offline-mode'.\nValueError: Invalid repository ID or local directory specified: 'Qwen/Qwen3-4B'.",
    cause: 'hf-unreachable',
    summary: 'huggingface.co was not reachable',
  },
  {
    name: 'HF_HUB_OFFLINE without the model in the cache',
    log: "huggingface_hub.errors.LocalEntryNotFoundError: Cannot find an appropriate cached snapshot folder for the specified revision on the local disk and outgoing traffic has been disabled. To enable repo look-ups and downloads online, set 'HF_HUB_OFFLINE=0' as environment variable.",
    cause: 'hf-unreachable',
    summary: 'HF_HUB_OFFLINE is set, but the model is not in the Hugging Face cache',
  },
  {
    name: 'invalid repository id (vLLM ≥ 0.6 wording)',
    log: "(APIServer pid=1) ValueError: Invalid repository ID or local directory specified: '/models/qwen3-4b'.\n(APIServer pid=1) Please verify the following requirements:\n(APIServer pid=1) 1. Provide a valid Hugging Face repository ID.",
    ctx: qwen(),
    cause: 'invalid-model',
    summary: "vLLM found no model at '/models/qwen3-4b'",
    advice: 'Fix `model` of `qwen-4b`',
  },
  {
    name: 'invalid model id (transformers wording, older vLLM)',
    log: "OSError: Qwen/Qwen3-4Bx is not a local folder and is not a valid model identifier listed on 'https://huggingface.co/models'\nIf this is a private repository, make sure to pass a token having permission to this repo either by logging in with `huggingface-cli login` or by passing `token=<your_token>`",
    cause: 'invalid-model',
    summary: "vLLM found no model at 'Qwen/Qwen3-4Bx'",
  },
  // Model code and architecture.
  {
    name: 'custom code needs --trust-remote-code (transformers < 4.40 wording)',
    log: 'ValueError: Loading internlm/internlm2-chat-7b requires you to execute the configuration file in that repo on your local machine. Make sure you have read the code there to avoid malicious use, then set the option `trust_remote_code=True` to remove this error.',
    ctx: qwen(),
    cause: 'trust-remote-code',
    suggestion: { key: 'additional_flags', value: '--trust-remote-code' },
    advice: 'add `--trust-remote-code` to additional_flags of `qwen-4b`',
  },
  {
    name: 'custom code needs --trust-remote-code (newer transformers wording)',
    log: 'ValueError: The repository for microsoft/Phi-3-vision-128k-instruct contains custom code which must be executed to correctly load the model. You can inspect the repository content at https://hf.co/microsoft/Phi-3-vision-128k-instruct.\nPlease pass the argument `trust_remote_code=True` to allow custom code to be run.',
    cause: 'trust-remote-code',
    suggestion: { key: 'additional_flags', value: '--trust-remote-code' },
  },
  {
    name: 'unsupported architecture (pydantic, dict_keys form)',
    log: "(APIServer pid=352089) Value error, Model architectures ['DeepseekOCRForCausalLM'] are not supported for now. Supported architectures: dict_keys(['ApertusForCausalLM', 'AquilaModel', 'AquilaForCausalLM', 'ArceeForCausalLM', 'ArcticForCausalLM', 'MiniMaxForCausalLM']) [type=value_error, input_value=ArgsKwargs((), {'model': ...}), input_type=ArgsKwargs]",
    ctx: qwen(),
    cause: 'unsupported-architecture',
    summary: "This vLLM image does not support the model's architecture (DeepseekOCRForCausalLM)",
    advice: 'Use a newer vLLM `image` for `qwen-4b`',
  },
  {
    name: 'unsupported architecture (old list form)',
    log: "ValueError: Model architectures ['GPTBigCodeForCausalLM'] are not supported for now. Supported architectures: ['GPT2LMHeadModel', 'GPTNeoXForCausalLM', 'LlamaForCausalLM', 'OPTForCausalLM']",
    cause: 'unsupported-architecture',
    summary: '(GPTBigCodeForCausalLM)',
  },
  // Lengths and parallelism.
  {
    name: 'max-model-len above the model (pydantic, ≥ 0.10)',
    log: "  Value error, User-specified max_model_len (65536) is greater than the derived max_model_len (max_position_embeddings=32768.0 or model_max_length=None in model's config.json). To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. [type=value_error, input_value=ArgsKwargs((), {'model': ...nderer_num_workers': 1}), input_type=ArgsKwargs]",
    ctx: qwen(),
    cause: 'max-model-len-too-large',
    suggestion: { key: 'max-model-len', value: 32768 },
    summary: 'max-model-len 65536 is more than the model supports (32768 tokens)',
    advice: 'Set `max-model-len: 32768` (or less) for `qwen-4b`.',
  },
  {
    name: 'max-model-len above the model (ValueError, 0.6 wording)',
    log: "ValueError: User-specified max_model_len (131072) is greater than the derived max_model_len (max_position_embeddings=32768 or model_max_length=None in model's config.json). This may lead to incorrect model outputs or CUDA errors. To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1",
    cause: 'max-model-len-too-large',
    suggestion: { key: 'max-model-len', value: 32768 },
  },
  {
    name: 'max-model-len above the model (0.3 wording)',
    log: "ValueError: User-specified max_model_len (25000) is greater than the derived max_model_len (None=4096 in model's config.json). This may lead to incorrect model outputs or CUDA errors. Make sure the value is correct and within the model context size.",
    cause: 'max-model-len-too-large',
    suggestion: { key: 'max-model-len', value: 4096 },
  },
  {
    name: 'TP does not divide the attention heads',
    log: 'ValueError: Total number of attention heads (32) must be divisible by tensor parallel size (3).',
    ctx: qwen({ tensorParallelSize: 3 }),
    cause: 'tp-not-divisible',
    suggestion: { key: 'tensor-parallel-size', value: 2 },
    summary: "tensor-parallel-size 3 does not divide the model's 32 attention heads",
    advice: 'a divisor of 32: 1, 2, 4, 8, 16',
  },
  {
    name: 'TP above the GPUs the container sees (0.8+ wording)',
    log: '(EngineCore_DP0 pid=99) RuntimeError: please set tensor_parallel_size (2) to less than max local gpu count (1)',
    ctx: qwen({ tensorParallelSize: 2, gpus: { kind: 'devices', indices: [0] } }),
    cause: 'tp-exceeds-gpus',
    suggestion: { key: 'tensor-parallel-size', value: 1 },
    summary: 'tensor-parallel-size 2 is more than the 1 GPU the container sees',
    advice: 'Give `qwen-4b` at least 2 GPUs with `gpus`, or set `tensor-parallel-size: 1`.',
  },
  {
    name: 'TP above the GPUs (0.4 wording, no numbers)',
    log: 'AssertionError: please set tensor_parallel_size to less than max local gpu count',
    ctx: qwen({ tensorParallelSize: 4 }),
    cause: 'tp-exceeds-gpus',
    suggestion: null,
    summary: 'tensor-parallel-size 4 is more than the GPUs the container sees',
  },
  // GPU, driver, dtype.
  {
    name: 'no GPU in the container (≥ 0.8 wording)',
    log: 'RuntimeError: Failed to infer device type, please set the environment variable `VLLM_LOGGING_LEVEL=DEBUG` to turn on verbose logging to help debug the issue.',
    ctx: qwen({ gpus: { kind: 'none' } }),
    cause: 'no-gpu',
    advice: '`gpus` of `qwen-4b` is none: give it GPUs.',
  },
  {
    name: 'no GPU in the container (0.7 wording)',
    log: 'RuntimeError: Failed to infer device type',
    cause: 'no-gpu',
    advice: 'NVIDIA Container Toolkit',
  },
  {
    name: 'driver too old for the image',
    log: 'RuntimeError: The NVIDIA driver on your system is too old (found version 11040). Please update your GPU driver by downloading and installing a new version from the URL: http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to install a PyTorch version that has been compiled with your version of the CUDA driver.',
    cause: 'cuda-driver',
  },
  {
    name: 'bfloat16 on a pre-Ampere GPU',
    log: 'ValueError: Bfloat16 is only supported on GPUs with compute capability of at least 8.0. Your Tesla T4 GPU has compute capability 7.5. You can use float16 instead by explicitly setting the`dtype` flag in CLI, for example: --dtype=half.',
    ctx: qwen(),
    cause: 'dtype-unsupported',
    suggestion: { key: 'dtype', value: 'half' },
    summary: 'This GPU (Tesla T4, compute capability 7.5) cannot run bfloat16',
  },
  // Shared memory, disk, port.
  {
    name: 'NCCL cannot extend /dev/shm',
    log: 'inference-qwen-4b:120:120 [1] misc/shmutils.cc:72 NCCL WARN Error: failed to extend /dev/shm/nccl-5Vq2Zw to 9637892 bytes',
    ctx: qwen({ tensorParallelSize: 2 }),
    cause: 'shm',
    suggestion: { key: 'shm-size', value: '10g' },
    advice: 'Set `shm-size: 10g` for `qwen-4b`',
  },
  {
    name: 'ncclSystemError',
    log: 'torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1970, unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.20.5\nncclSystemError: System call (e.g. socket, malloc) or external library call failed or device error.',
    cause: 'shm',
  },
  {
    name: 'Bus error in a worker',
    log: '(VllmWorker rank=1 pid=201) Bus error (core dumped)',
    cause: 'shm',
  },
  {
    name: 'disk full while downloading',
    log: 'OSError: [Errno 28] No space left on device',
    cause: 'disk-full',
  },
  {
    name: 'port already in use',
    log: "(APIServer pid=1) OSError: [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use",
    cause: 'port-in-use',
  },
  {
    name: 'other config validation error (pydantic)',
    log: "  Value error, max_num_batched_tokens (2048) is smaller than max_model_len (32768). This effectively limits the maximum sequence length to max_num_batched_tokens and makes vLLM reject longer sequences. Please increase max_num_batched_tokens or decrease max_model_len. [type=value_error, input_value=ArgsKwargs((), {'runner_type': 'generate'}), input_type=ArgsKwargs]",
    ctx: qwen(),
    cause: 'invalid-config',
    summary: 'vLLM rejected its configuration: max_num_batched_tokens (2048) is smaller than max_model_len (32768).',
  },
  // argparse: a flag this image version does not know.
  {
    name: 'unrecognized flag (vllm serve, new entrypoint)',
    log: 'usage: vllm serve [model_tag] [options]\nvllm serve: error: unrecognized arguments: --disable-log-requests',
    ctx: { exitCode: 2, spec: { key: 'qwen-4b' } },
    cause: 'bad-flag',
    suggestion: null,
    summary: 'This vLLM image version does not know --disable-log-requests',
    advice: 'Remove `disable-log-requests` from `qwen-4b` in models.yaml',
    evidence: 'vllm serve: error: unrecognized arguments: --disable-log-requests',
  },
  {
    name: 'unrecognized flags with values (api_server.py, old entrypoint)',
    log: 'usage: api_server.py [-h] [--host HOST] [--port PORT] [--model MODEL]\napi_server.py: error: unrecognized arguments: --reasoning-parser deepseek_r1 --enable-reasoning',
    cause: 'bad-flag',
    summary: 'does not know --reasoning-parser, --enable-reasoning',
  },
  {
    name: 'invalid choice (quoted choices)',
    log: "usage: api_server.py [-h] [--host HOST] [--port PORT]\napi_server.py: error: argument --dtype: invalid choice: 'fp32' (choose from 'auto', 'half', 'float16', 'bfloat16', 'float', 'float32')",
    ctx: qwen(),
    cause: 'bad-flag',
    summary: "This vLLM image version does not accept 'fp32' for --dtype",
    advice: 'Set `dtype` for `qwen-4b` to one of: auto, half, float16, bfloat16, float, float32',
  },
  {
    name: 'invalid choice (Python 3.12 unquoted choices), exit code only',
    log: 'vllm serve: error: argument --kv-cache-dtype: invalid choice: fp4 (choose from auto, fp8, fp8_e4m3, fp8_e5m2)',
    ctx: { exitCode: 2 },
    cause: 'bad-flag',
    summary: "does not accept 'fp4' for --kv-cache-dtype",
  },
  {
    name: 'flag missing its value',
    log: 'usage: vllm serve [model_tag] [options]\nvllm serve: error: argument --max-model-len/--max_model_len: expected one argument',
    cause: 'bad-flag',
    summary: 'vLLM rejected --max-model-len: expected one argument',
  },
  // Killed without a message.
  {
    name: 'killed while loading (exit 137)',
    log: 'Loading safetensors checkpoint shards:  40% Completed | 2/5 [00:31<00:47, 15.80s/it]',
    ctx: { exitCode: 137 },
    cause: 'killed',
    evidence: 'exit code 137',
  },
];

describe('diagnoseStartupFailure', () => {
  it.each(TABLE)('$name → $cause', (row) => {
    const d = diagnoseStartupFailure(row.log, row.ctx);
    expect(d?.cause).toBe(row.cause);
    if (!d) return;
    expect(d.summary).not.toContain('\n');
    expect(d.summary.length).toBeGreaterThan(10);
    expect(d.advice.length).toBeGreaterThan(0);
    expect(d.evidence).not.toBe('');
    expect(d.evidence).not.toContain('See root cause above');
    if (row.suggestion === null) expect(d.suggestion).toBeUndefined();
    else if (row.suggestion) expect(d.suggestion).toEqual(row.suggestion);
    if (row.summary) expect(d.summary).toContain(row.summary);
    if (row.advice) expect(d.advice.join('\n')).toContain(row.advice);
    if (row.evidence) expect(d.evidence).toContain(row.evidence);
  });

  it('has a table row for every cause', () => {
    expect(new Set(TABLE.map((r) => r.cause))).toEqual(new Set(DIAGNOSIS_CAUSES));
  });

  it('finds nothing in a healthy log, or in an empty one', () => {
    expect(diagnoseStartupFailure(NORMAL_LOG)).toBeUndefined();
    expect(diagnoseStartupFailure(NORMAL_LOG, { exitCode: 0 })).toBeUndefined();
    expect(diagnoseStartupFailure('')).toBeUndefined();
  });

  it('skips the wrapper "Engine core initialization failed"', () => {
    const wrapperOnly = KV_LOG.split('\n').filter((l) => !l.includes('KV cache is needed')).join('\n');
    expect(diagnoseStartupFailure(wrapperOnly)).toBeUndefined();
  });

  it('reads only the last 300 lines', () => {
    const noise = Array.from({ length: 300 }, (_, i) => `(APIServer pid=1) INFO 10-21 00:40:${String(i % 60).padStart(2, '0')} [loggers.py:123] noise ${i}`);
    expect(diagnoseStartupFailure([KV_V1_OLD, ...noise].join('\n'))).toBeUndefined();
    expect(diagnoseStartupFailure([KV_V1_OLD, ...noise.slice(1)].join('\n'))?.cause).toBe('kv-cache-too-small');
  });

  it('takes the earliest line of the winning cause as evidence, and shortens long lines', () => {
    const twice = `${KV_V1_OLD}\n${KV_V1_OLD.replace('87840', '1234')}`;
    expect(diagnoseStartupFailure(twice)?.suggestion).toEqual({ key: 'max-model-len', value: 87840 });
    const arch = diagnoseStartupFailure(
      `ValueError: Model architectures ['FooForCausalLM'] are not supported for now. Supported architectures: dict_keys([${"'XForCausalLM', ".repeat(100)}])`,
    );
    expect(arch?.evidence.length).toBeLessThanOrEqual(500);
    expect(arch?.evidence.endsWith('…')).toBe(true);
  });

  it('prefers the root cause: Hugging Face 401 over "Invalid repository ID", CUDA OOM over NCCL', () => {
    expect(diagnoseStartupFailure(GATED_401)?.cause).toBe('hf-auth');
    const reversed = GATED_401.split('\n').reverse().join('\n');
    expect(diagnoseStartupFailure(reversed)?.cause).toBe('hf-auth');
    expect(diagnoseStartupFailure(CUDA_OOM_LOADING)?.cause).toBe('cuda-oom');
  });

  it('does not call an argparse-looking line a bad flag without usage: or exit code 2', () => {
    const line = 'vllm serve: error: unrecognized arguments: --foo';
    expect(diagnoseStartupFailure(line, { exitCode: 1 })).toBeUndefined();
    expect(diagnoseStartupFailure(line, { exitCode: 2 })?.cause).toBe('bad-flag');
  });

  it('ignores ANSI colours and carriage returns', () => {
    const coloured = `\x1b[1;31mERROR\x1b[0m 10-21 00:35:03 [core.py:708] ValueError: No available memory for the cache blocks. Try increasing \`gpu_memory_utilization\` when initializing the engine.\r\n`;
    expect(diagnoseStartupFailure(coloured)).toMatchObject({
      cause: 'no-cache-blocks',
      evidence: 'ERROR 10-21 00:35:03 [core.py:708] ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.',
    });
  });

  it('without a spec, speaks of "this model" and vLLM\'s default utilisation', () => {
    const d = diagnoseStartupFailure(KV_V1_OLD);
    expect(d?.advice.join(' ')).toContain('for this model');
    expect(d?.advice.join(' ')).toContain('now default 0.9');
  });
});
