/*
 * inferstack's plugin for the managed LiteLLM gateway: one Python module we own, written beside
 * the gateway's config file and named once in its `litellm_settings.callbacks`. LiteLLM imports
 * it before it builds its router from the config, in every worker process. It
 * - keeps the running router equal to the routes files the stacks write beside it (one per
 *   stack, replaced by rename): a route change takes effect in the running gateway, with no
 *   reload, no restart and no fork. Entries of stacks without a routes file (hand-made ones, the
 *   user's) are left as they are. The config file stays the truth for a cold start;
 * - sets the vLLM API keys the routes name (`os.environ/INFERSTACK_VLLM_KEY_...`) from the
 *   stacks' keys files, so a model with a key joins a running gateway without a new container.
 *   LiteLLM resolves every `os.environ/` of the config file when it reads it, before it imports
 *   any callback (1.108.14: `get_config`), so the config's keyed entries start without their key:
 *   the plugin applies the routes files once more as soon as the router exists (before any
 *   request is routed, and only then does its state say they are applied);
 * - wakes a model that may sleep before a request reaches it (asks the stack's watcher);
 * - routes a model with `routing: prefix` by its prompt's prefix: of the model's healthy
 *   deployments (LiteLLM's `async_filter_deployments` callback hook, after its cooldown and
 *   health filters), requests whose first PREFIX_CHARS characters are equal go to the same one
 *   (rendezvous hashing over each deployment's `inferstack_affinity`, its `key#replica`), unless
 *   it has more than PREFIX_LOAD_FACTOR × the mean of this worker's requests in flight, when the
 *   next in the hash's order takes it (consistent hashing with bounded loads);
 * - answers `GET /inferstack/state` (with the master key): which routes this worker applied.
 *
 * What LiteLLM offers for this, and how it was checked: docs/upstream/litellm.md.
 */

/** The module LiteLLM imports (a file in the gateway's config directory). */
export const PLUGIN_MODULE = 'inferstack_gateway';
/** How the config names it in `litellm_settings.callbacks`. */
export const PLUGIN_CALLBACK = `${PLUGIN_MODULE}.proxy_handler_instance`;
/** The plugin's file. */
export const PLUGIN_FILE = `${PLUGIN_MODULE}.py`;
/** Earlier versions' wake hook, replaced by the plugin (its callback and files are removed). */
export const OLD_WAKE_CALLBACK = 'inferstack_wake.proxy_handler_instance';
export const OLD_WAKE_FILES = ['inferstack_wake.py', 'inferstack_wake.json'];

/** A stack's routes file: the entries of its models the running gateway routes to. */
export function routesFileName(stack: string): string {
  return `inferstack_routes.${stack}.json`;
}
/** A stack's keys file (0600): the vLLM API keys its routes name. */
export function keysFileName(stack: string): string {
  return `inferstack_keys.${stack}.json`;
}
/** A stack's wake file (0600), written by its watcher: where it is, its token, the models it knows. */
export function wakeFileName(stack: string): string {
  return `inferstack_wake.${stack}.json`;
}

/** Where the plugin answers which routes a worker applied. */
export const PLUGIN_STATE_PATH = '/inferstack/state';
/** How often the plugin looks at the routes files (seconds): a change takes effect within it. */
export const PLUGIN_POLL_SECONDS = 0.2;
/** How many characters of the prompt (roles and contents, in order) decide a prefix-routed request's replica. */
export const PREFIX_CHARS = 256;
/** A replica takes a prefix's request while its requests in flight stay within this many times the mean. */
export const PREFIX_LOAD_FACTOR = 1.25;

/** The plugin, in Python (LiteLLM's). */
export const PLUGIN_SOURCE = `# Written by inferstack (serve), which rewrites it: do not edit.
# inferstack's plugin for the LiteLLM proxy: live routes, model keys, waking idle models, state.
import asyncio
import glob
import hashlib
import hmac
import json
import math
import os
import time

import httpx
from fastapi import HTTPException, Request
from litellm.integrations.custom_logger import CustomLogger

_DIR = os.path.dirname(os.path.abspath(__file__))
_POLL_SECONDS = ${PLUGIN_POLL_SECONDS}
_STATE_PATH = "${PLUGIN_STATE_PATH}"
_PREFIX_CHARS = ${PREFIX_CHARS}
_PREFIX_LOAD_FACTOR = ${PREFIX_LOAD_FACTOR}
# A request whose end was never reported stops counting as in flight after this long.
_INFLIGHT_MAX_SECONDS = 600


def _paths(kind):
    return sorted(glob.glob(os.path.join(_DIR, "inferstack_%s.*.json" % kind)))


def _signature(paths):
    """What identifies each file's content: a file replaced by rename has another inode."""
    out = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        out[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def _load(path):
    with open(path) as f:
        return json.load(f)


def _log(message):
    print("inferstack: %s" % message, flush=True)


def _prefix_key(messages):
    """The start of a chat prompt: each message's role and text, in order."""
    parts = []
    size = 0
    for m in messages or []:
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        text = "%s\\x00%s\\x00" % (m.get("role", ""), content if isinstance(content, str) else "")
        parts.append(text)
        size += len(text)
        if size >= _PREFIX_CHARS:
            break
    return "".join(parts)[:_PREFIX_CHARS]


def _deployment_id(d):
    return str((d.get("model_info") or {}).get("id"))


def _rank(key, d):
    info = d.get("model_info") or {}
    name = info.get("inferstack_affinity") or _deployment_id(d)
    return hashlib.sha256(("%s\\x00%s" % (name, key)).encode()).hexdigest()


class InferstackGateway(CustomLogger):
    def __init__(self):
        super().__init__()
        self._keys_seen = None
        self._wake_seen = None
        self._wake = {}
        self._client = None
        self._task = None
        self._load_keys()
        # Nothing applied yet: LiteLLM resolved the config's keys before this module was imported
        # (they were not set then), so the routes files are applied once the router exists.
        self._routes_seen = None
        self._applied = {}
        # Prefix-routed requests in flight in this worker: call id -> (deployment id, since).
        self._inflight = {}
        self._install_state_route()
        self._start()

    # --- keys -----------------------------------------------------------------------------
    def _load_keys(self):
        seen = _signature(_paths("keys"))
        if seen == self._keys_seen:
            return
        for path in seen:
            try:
                for name, value in _load(path).items():
                    if name.startswith("INFERSTACK_VLLM_KEY_") and isinstance(value, str):
                        os.environ[name] = value
            except Exception as error:
                _log("cannot read a keys file: %s" % type(error).__name__)
        self._keys_seen = seen

    # --- routes ---------------------------------------------------------------------------
    def _start(self):
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the first request starts it
        self._task = loop.create_task(self._poll())

    async def _poll(self):
        while True:
            try:
                self._apply_routes()
            except Exception as error:
                _log("routes not applied: %r" % (error,))
            await asyncio.sleep(_POLL_SECONDS)

    def _apply_routes(self):
        from litellm.proxy import proxy_server

        router = proxy_server.llm_router
        if router is None:
            return
        seen = _signature(_paths("routes"))
        if seen == self._routes_seen:
            return
        self._load_keys()
        files = [_load(path) for path in seen]
        stacks = set(f["stack"] for f in files)
        kept = [
            {"model_name": d["model_name"], "litellm_params": d["litellm_params"], "model_info": d.get("model_info") or {}}
            for d in router.model_list
            if (d.get("model_info") or {}).get("inferstack_stack") not in stacks
        ]
        ours = [entry for f in files for entry in f.get("entries", [])]
        # In the event loop, synchronously: no request is routed while the list changes.
        router.set_model_list(kept + ours)
        proxy_server.llm_model_list = router.get_model_list()
        self._routes_seen = seen
        self._applied = dict((f["stack"], f.get("version")) for f in files)

    # --- state ----------------------------------------------------------------------------
    def _install_state_route(self):
        try:
            from litellm.proxy.proxy_server import app
        except Exception as error:
            _log("no state route: %r" % (error,))
            return
        if any(getattr(route, "path", None) == _STATE_PATH for route in app.router.routes):
            return
        plugin = self

        async def inferstack_state(request: Request):
            from litellm.proxy import proxy_server

            key = proxy_server.master_key
            given = request.headers.get("authorization", "")
            if key and not hmac.compare_digest(given.encode(), ("Bearer " + key).encode()):
                raise HTTPException(status_code=401, detail="the master key is needed")
            router = proxy_server.llm_router
            models = [(d.get("model_info") or {}).get("id") for d in (router.model_list if router is not None else [])]
            return {"pid": os.getpid(), "routes": plugin._applied, "models": models}

        app.add_api_route(_STATE_PATH, inferstack_state, methods=["GET"], include_in_schema=False)
        # Before every other route: none of LiteLLM's catch-all routes may take it.
        app.router.routes.insert(0, app.router.routes.pop())

    # --- wake -----------------------------------------------------------------------------
    def _wake_info(self):
        seen = _signature(_paths("wake"))
        if seen != self._wake_seen:
            models = {}
            for path in seen:
                try:
                    info = _load(path)
                except Exception:
                    continue
                for name, timeout in (info.get("models") or {}).items():
                    models[name] = {"stack": info.get("stack", "?"), "watcher": info.get("watcher"), "token": info.get("token", ""), "timeout": timeout}
            self._wake = models
            self._wake_seen = seen
        return self._wake

    # --- prefix routing ---------------------------------------------------------------------
    async def async_filter_deployments(self, model, healthy_deployments, messages, request_kwargs=None, parent_otel_span=None):
        try:
            return self._by_prefix(healthy_deployments, messages, request_kwargs or {})
        except Exception as error:
            _log("prefix routing skipped: %r" % (error,))
            return healthy_deployments

    def _by_prefix(self, deployments, messages, request_kwargs):
        if not messages or not isinstance(deployments, list) or len(deployments) < 2:
            return deployments
        if any((d.get("model_info") or {}).get("inferstack_routing") != "prefix" for d in deployments):
            return deployments
        key = _prefix_key(messages)
        ranked = sorted(deployments, key=lambda d: _rank(key, d), reverse=True)
        now = time.monotonic()
        for call, (_, since) in list(self._inflight.items()):
            if now - since > _INFLIGHT_MAX_SECONDS:
                del self._inflight[call]
        load = {}
        for dep, _ in self._inflight.values():
            load[dep] = load.get(dep, 0) + 1
        total = sum(load.get(_deployment_id(d), 0) for d in deployments) + 1
        bound = math.ceil(total * _PREFIX_LOAD_FACTOR / len(deployments))
        chosen = next((d for d in ranked if load.get(_deployment_id(d), 0) + 1 <= bound), ranked[0])
        call = request_kwargs.get("litellm_call_id")
        if call:
            self._inflight[call] = (_deployment_id(chosen), now)
        return [chosen]

    def _done(self, kwargs):
        if isinstance(kwargs, dict):
            self._inflight.pop(kwargs.get("litellm_call_id"), None)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._done(kwargs)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        self._done(kwargs)

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        self._start()
        if self._routes_seen is None:
            # The first request came before the first poll: the routes (with their keys) first.
            try:
                self._apply_routes()
            except Exception as error:
                _log("routes not applied: %r" % (error,))
        model = data.get("model") if isinstance(data, dict) else None
        # Each stack's watcher writes which models it looks after: no other model is asked about.
        wake = self._wake_info().get(model)
        if wake is None:
            return data
        if not wake["watcher"]:
            raise HTTPException(status_code=503, detail="model %s sleeps or stops when idle, and no watcher of stack %s runs to wake it ('serve up' runs one; with watcher: {mode: none}, run 'serve watch')" % (model, wake["stack"]))
        if self._client is None:
            self._client = httpx.AsyncClient()
        headers = {"authorization": "Bearer " + wake["token"]}
        # A watcher being restarted (its container restarts by itself) gets a few seconds.
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = await self._client.post(wake["watcher"] + "/acquire", json={"model": model}, headers=headers, timeout=wake["timeout"] + 5)
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


proxy_handler_instance = InferstackGateway()
`;
