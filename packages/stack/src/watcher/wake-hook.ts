import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LOCAL_HOST, type StackConfig } from '@inferstack/config';
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
        timeout = info.get("models", {}).get(model)
        if timeout is None or not info.get("watcher"):
            return data
        if self._client is None:
            self._client = httpx.AsyncClient()
        # A watcher being restarted (its container restarts by itself) gets a few seconds.
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = await self._client.post(info["watcher"] + "/acquire", json={"model": model}, timeout=timeout + 5)
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
export function wakeableModels(config: StackConfig): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of config.models) {
    if (!m.idle && !m.swapGroup) continue;
    out[m.servedModelName] = Math.ceil((m.wakeTimeoutMs ?? 600_000) / 1000);
  }
  return out;
}

/** Whether the stack needs a watcher: some model sleeps, stops when idle, or has a swap group. */
export function needsWatcher(config: StackConfig): boolean {
  return config.models.some((m) => m.idle || m.swapGroup);
}

/**
 * A model that sleeps must be woken before any request reaches it (vLLM does not refuse one while
 * asleep: in 0.11–0.13 its engine dies, from 0.20 on the request waits until something wakes the
 * model), and only the managed gateway carries the wake hook.
 * Bad input otherwise, found before anything changes.
 */
export function requireWakePath(config: StackConfig): void {
  // The watcher reaches models on the default host only (their metrics and sleep routes).
  const remote = config.models.find((m) => (m.idle || m.swapGroup) && hostOf(m) !== LOCAL_HOST);
  if (remote) {
    throw new StackInputError(`${config.file}: model ${remote.key} runs on host ${remote.host} and has ${remote.idle ? 'an idle policy' : 'a swap group'}; idle policies and swap groups work on the default host (${LOCAL_HOST}) only for now`, {
      hint: `remove idle/swap-group from ${remote.key}, or run it on the default host`,
    });
  }
  if (config.gateway.mode === 'managed') return;
  const sleepy = config.models.find((m) => (m.idle && m.idle.then !== 'stop') || m.swapGroup);
  if (!sleepy) return;
  throw new StackInputError(`${config.file}: model ${sleepy.key} sleeps when idle${sleepy.swapGroup ? ' (swap group)' : ''}, which needs the managed gateway (gateway mode is ${config.gateway.mode})`, {
    hint: 'only the managed gateway wakes a sleeping model before a request reaches it (a request to a sleeping vLLM kills its engine): use gateway: {mode: managed}, or idle: {after: ..., then: stop} for this model',
  });
}

function writeIfChanged(file: string, text: string, mode: number): boolean {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  writeFileSync(file, text, { mode });
  return true;
}

/** The info file the hook reads: the watcher's address and the models it wakes. */
function infoText(url: string, models: Record<string, number>): string {
  return `${JSON.stringify({ watcher: url, models }, null, 2)}\n`;
}

/**
 * The gateway config's text with the hook named in `litellm_settings.callbacks` (the rest of
 * the file kept); the same text when it is named already, or when the file holds no mapping.
 */
export async function withWakeCallback(text: string): Promise<string> {
  // yaml is loaded only here: `serve status` and an `up` without idle models start without it.
  const { isMap, isSeq, parseDocument, YAMLSeq } = await import('yaml');
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
 * idle, the hook and its info file beside the gateway's config and the config's text
 * (`configText`, as it is now) with the hook in its callbacks; once none does, an existing info
 * file told of no model (LiteLLM keeps loading the module named in its callbacks, so it stays).
 */
export async function wakeHookFiles(config: StackConfig, url: string, configText: string): Promise<{ files: Array<{ path: string; text: string }>; configText: string }> {
  const dir = dirname(config.gateway.configFile);
  if (needsWatcher(config)) {
    return { files: [{ path: join(dir, HOOK_FILE), text: WAKE_HOOK_SOURCE }, { path: join(dir, INFO_FILE), text: infoText(url, wakeableModels(config)) }], configText: await withWakeCallback(configText) };
  }
  const info = join(dir, INFO_FILE);
  return { files: existsSync(info) ? [{ path: info, text: infoText(url, {}) }] : [], configText };
}

/**
 * Keep the gateway's wake hook in step with the config: write what {@link wakeHookFiles} says.
 * Returns whether the config file changed (the gateway must reload). `up` writes the same files
 * through the gateway service's `files`, which `plan` compares instead.
 */
export async function syncWakeHook(config: StackConfig, url: string): Promise<boolean> {
  const text = readFileSync(config.gateway.configFile, 'utf8');
  const planned = await wakeHookFiles(config, url, text);
  for (const f of planned.files) writeIfChanged(f.path, f.text, 0o644);
  if (planned.configText === text) return false;
  writeFileSync(config.gateway.configFile, planned.configText);
  return true;
}
