import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LOCAL_HOST, type ModelSpec, type StackConfig } from '@inferstack/config';
import { DEFAULT_DOCKER_SOCKET, hasDevRoutes, parseDockerAddress } from '@inferstack/docker-ops';
import { StackInputError } from '../errors.js';
import { hostOf } from '../hosts.js';

/**
 * The gateway's side of waking: a LiteLLM pre-call hook, loaded from the gateway's config
 * directory, that asks the stack's watcher to wake (or start) a sleeping model and waits for it
 * before LiteLLM routes the request. vLLM does not refuse a request while asleep (its engine dies
 * on it), so no request may reach a model before the watcher says it is awake.
 */

/** The module and object LiteLLM loads (`litellm_settings.callbacks`). */
export const WAKE_CALLBACK = 'inferstack_wake.proxy_handler_instance';
const HOOK_FILE = 'inferstack_wake.py';
const INFO_FILE = 'inferstack_wake.json';

/** The hook, in Python (LiteLLM's). It reads which models to wake from a JSON file beside it. */
export const WAKE_HOOK_SOURCE = `# Written by inferstack (serve), which rewrites it: do not edit.
# A LiteLLM pre-call hook: before a request is routed to a model that may sleep (or was stopped
# because nobody asked for it), the stack's watcher wakes it and answers once it serves.
import asyncio
import json
import os
import time

import httpx
from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger

# Written by the stack's watcher (0600): its address, its token, and the models it looks after.
_INFO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "${INFO_FILE}")


class InferstackWake(CustomLogger):
    def __init__(self):
        super().__init__()
        self._mtime = None
        self._info = {}
        self._client = None

    def _read(self):
        try:
            mtime = os.stat(_INFO).st_mtime_ns
        except OSError:
            return {}
        if mtime != self._mtime:
            with open(_INFO) as f:
                self._info = json.load(f)
            self._mtime = mtime
        return self._info

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        info = self._read()
        model = data.get("model") if isinstance(data, dict) else None
        # The watcher writes which models it looks after: no other model is asked about.
        timeout = info.get("models", {}).get(model)
        if timeout is None:
            return data
        if not info.get("watcher"):
            raise HTTPException(status_code=503, detail="model %s sleeps or stops when idle, and no watcher of stack %s runs to wake it ('serve up' runs one; with watcher: {mode: none}, run 'serve watch')" % (model, info.get("stack", "?")))
        if self._client is None:
            self._client = httpx.AsyncClient()
        headers = {"authorization": "Bearer " + info.get("token", "")}
        # A watcher being restarted (its container restarts by itself) gets a few seconds.
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = await self._client.post(info["watcher"] + "/acquire", json={"model": model}, headers=headers, timeout=timeout + 5)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if time.monotonic() > deadline:
                    raise HTTPException(status_code=503, detail="model %s could not be woken: the stack's watcher does not answer (%s)" % (model, type(error).__name__))
                await asyncio.sleep(0.25)
            except Exception as error:
                raise HTTPException(status_code=503, detail="model %s could not be woken: %s" % (model, type(error).__name__))
        if answer.status_code != 200:
            try:
                reason = answer.json().get("error") or answer.text
            except Exception:
                reason = answer.text
            raise HTTPException(status_code=503, detail="model %s could not be woken: %s" % (model, str(reason)[:300]))
        return data


proxy_handler_instance = InferstackWake()
`;

/** The models (by served name) that sleep or stop when idle, with how long a request waits for each (seconds). */
export function wakeableModels(config: Pick<StackConfig, 'models'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of config.models) {
    if (!m.idle && !m.swapGroup) continue;
    out[m.servedModelName] = Math.ceil((m.wakeTimeoutMs ?? 600_000) / 1000);
  }
  return out;
}

/** Whether the stack needs a watcher: some model sleeps, stops when idle, or has a swap group. */
export function needsWatcher(config: Pick<StackConfig, 'models'>): boolean {
  return config.models.some((m) => m.idle || m.swapGroup);
}

function at(spec: ModelSpec): string {
  return `${spec.source.file}:${spec.source.line}`;
}

/** What decides whether idle models can be woken: the config, and where serve runs. */
export interface WakePathContext {
  env: NodeJS.ProcessEnv;
  /** The caller can run the managed watcher (the CLI gives its own program; a library caller may not). */
  hasWatcherProgram: boolean;
}

/**
 * Every model that sleeps or stops when idle must come back on a request, and a request must
 * never reach a sleeping vLLM (vLLM does not refuse one: in 0.11–0.13 its engine dies, from 0.20
 * on the request waits until something wakes the model). That takes the managed gateway (its
 * wake hook) and a watcher it can reach. Bad input otherwise, found in the plan, before anything
 * changes, with where the model is and what to do.
 */
export function requireWakePath(config: StackConfig, wake: WakePathContext): void {
  // The watcher reaches models on the default host only (their metrics and sleep routes).
  const remote = config.models.find((m) => (m.idle || m.swapGroup) && hostOf(m) !== LOCAL_HOST);
  if (remote) {
    throw new StackInputError(`${at(remote)}: model ${remote.key} runs on host ${remote.host} and has ${remote.idle ? 'an idle policy' : 'a swap group'}; idle policies and swap groups work on the default host (${LOCAL_HOST}) only for now`, {
      hint: `remove idle/swap-group from ${remote.key}, or run it on the default host`,
    });
  }
  // vLLM's development routes (sleep mode) are unprotected: they must stay on the stack's private network.
  const exposed = config.models.find((m) => hasDevRoutes(m) && hostOf(m) !== LOCAL_HOST);
  if (exposed) {
    throw new StackInputError(`${at(exposed)}: model ${exposed.key} runs on host ${exposed.host} with VLLM_SERVER_DEV_MODE=1, whose /sleep, /wake_up and /collective_rpc routes vLLM does not protect with its api-key; a model of another host is published on its address`, {
      hint: `remove VLLM_SERVER_DEV_MODE from ${exposed.key}'s env, or run it on the default host`,
    });
  }
  const idle = config.models.find((m) => m.idle || m.swapGroup);
  if (!idle) return;
  if (config.gateway.mode !== 'managed') {
    const what = idle.swapGroup ? 'is in a swap group' : idle.idle?.then === 'stop' ? 'stops when idle' : 'sleeps when idle';
    throw new StackInputError(`${at(idle)}: model ${idle.key} ${what}, which needs the managed gateway (gateway mode is ${config.gateway.mode})`, {
      hint: 'only the managed gateway wakes (or starts) a model before a request reaches it: use gateway: {mode: managed}, or remove idle/swap-group from the model',
    });
  }
  if (config.watcher.mode !== 'managed') return;
  if (!wake.hasWatcherProgram) {
    throw new StackInputError(`${at(idle)}: model ${idle.key} needs the stack's watcher, and this caller gives no program to run it with`, {
      hint: 'open the stack with the watcherProgram option (the serve CLI does), or set watcher: {mode: none} in models.yaml and run "serve watch" yourself',
    });
  }
  const docker = parseDockerAddress(wake.env.DOCKER_HOST || DEFAULT_DOCKER_SOCKET);
  if (docker.transport !== 'unix') {
    throw new StackInputError(`${at(idle)}: model ${idle.key} needs the stack's watcher container, which talks to Docker through its socket, and DOCKER_HOST is ${wake.env.DOCKER_HOST}`, {
      hint: 'run serve on the Docker host itself (unix socket), or set watcher: {mode: none} in models.yaml and run "serve watch" on the Docker host',
    });
  }
}

/** What the wake hook reads: the watcher that looks after the stack's idle models, and which they are. */
export interface WakeInfo {
  stack: string;
  /** Where the gateway reaches the watcher; null when none runs (requests to its models get 503 at once). */
  watcher: string | null;
  /** The watcher's token (see token.ts). */
  token?: string;
  /** Served name → seconds a request waits for the model to wake. */
  models: Record<string, number>;
}

/**
 * Tell the wake hook which watcher to ask, and about which models: written by the watcher
 * itself (so the hook never asks it about a model it does not know), replaced atomically, 0600
 * (it holds the watcher's token).
 */
export function writeWakeInfo(config: Pick<StackConfig, 'gateway'>, info: WakeInfo): boolean {
  if (config.gateway.mode !== 'managed') return false;
  const file = join(dirname(config.gateway.configFile), INFO_FILE);
  const text = wakeInfoText(info);
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
  return true;
}

/** The text of the hook's info file. */
function wakeInfoText(info: WakeInfo): string {
  return `${JSON.stringify(info, null, 2)}\n`;
}

/** The wake hook's file as it is now, if any. */
export function readWakeInfo(config: Pick<StackConfig, 'gateway'>): WakeInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(dirname(config.gateway.configFile), INFO_FILE), 'utf8')) as WakeInfo;
  } catch {
    return undefined;
  }
}

function writeIfChanged(file: string, text: string, mode: number): boolean {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  writeFileSync(file, text, { mode });
  return true;
}


/**
 * The gateway config's text with the hook named in `litellm_settings.callbacks` (the rest of
 * the file kept); the same text when it is named already, or when the file holds no mapping.
 */
export async function withWakeCallback(text: string): Promise<string> {
  // yaml is loaded only here: `serve status` and an `up` without idle models start without it.
  const { isMap, isSeq, parseDocument, YAMLSeq } = await loadYaml();
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) return text;
  let settings = doc.get('litellm_settings', true);
  if (!isMap(settings)) {
    doc.set('litellm_settings', doc.createNode({}));
    settings = doc.get('litellm_settings', true);
  }
  const callbacks = doc.getIn(['litellm_settings', 'callbacks'], true);
  if (isSeq(callbacks)) {
    if (callbacks.items.some((i) => String((i as { value?: unknown }).value ?? i) === WAKE_CALLBACK)) return text;
    callbacks.add(WAKE_CALLBACK);
  } else if (callbacks === undefined || callbacks === null) {
    const seq = new YAMLSeq();
    seq.flow = true;
    seq.add(WAKE_CALLBACK);
    doc.setIn(['litellm_settings', 'callbacks'], seq);
  } else {
    const one = String((callbacks as { value?: unknown }).value ?? callbacks);
    if (one === WAKE_CALLBACK) return text;
    const seq = new YAMLSeq();
    seq.flow = true;
    seq.add(one);
    seq.add(WAKE_CALLBACK);
    doc.setIn(['litellm_settings', 'callbacks'], seq);
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * What {@link syncWakeHook} writes, without writing it: while some model sleeps or stops when
 * idle, the hook beside the gateway's config and the config's text (`configText`, as it is now)
 * with the hook in its callbacks, and, until a running watcher has written which models it looks
 * after, an info file that makes the hook refuse requests to them at once (one could be asleep,
 * put away by a watcher that is gone, and a request would kill its engine); once no model is
 * idle, an existing info file told of none (LiteLLM keeps loading the module named in its
 * callbacks, so it stays).
 */
export async function wakeHookFiles(config: StackConfig, configText: string): Promise<{ files: Array<{ path: string; text: string; mode: number }>; configText: string }> {
  const dir = dirname(config.gateway.configFile);
  const info = join(dir, INFO_FILE);
  if (needsWatcher(config)) {
    const registered = Boolean(readWakeInfo(config)?.watcher);
    return {
      files: [
        { path: join(dir, HOOK_FILE), text: WAKE_HOOK_SOURCE, mode: 0o644 },
        ...(registered ? [] : [{ path: info, text: wakeInfoText({ stack: config.name, watcher: null, models: wakeableModels(config) }), mode: 0o600 }]),
      ],
      configText: await withWakeCallback(configText),
    };
  }
  return { files: existsSync(info) ? [{ path: info, text: wakeInfoText({ stack: config.name, watcher: null, models: {} }), mode: 0o600 }] : [], configText };
}

/**
 * Keep the gateway's wake hook in step with the config: write what {@link wakeHookFiles} says.
 * Returns whether the config file changed (the gateway must reload). `up` writes the same files
 * through the gateway service's `files`, which `plan` compares instead.
 */
export async function syncWakeHook(config: StackConfig): Promise<boolean> {
  const text = readFileSync(config.gateway.configFile, 'utf8');
  const planned = await wakeHookFiles(config, text);
  for (const f of planned.files) writeIfChanged(f.path, f.text, f.mode);
  if (planned.configText === text) return false;
  writeFileSync(config.gateway.configFile, planned.configText);
  return true;
}

/**
 * The yaml library, loaded when first needed. Bundled (the serve bin), a dynamic import of this
 * CommonJS package yields its exports as the default export only: take them from there.
 */
export async function loadYaml(): Promise<typeof import('yaml')> {
  const mod = await import('yaml');
  return 'parseDocument' in mod ? mod : (mod as unknown as { default: typeof import('yaml') }).default;
}
