import { describe, expect, it } from 'vitest';
import {
  deploymentId,
  deploymentOfEntry,
  formatGatewayPlan,
  isManagedEntry,
  managedEntryFor,
  planGatewaySync,
  specDigest,
} from './plan.js';
import type { DesiredDeployment, GatewayEntry, ManagedModelEntry } from './types.js';

const qwen: DesiredDeployment = {
  modelKey: 'qwen-4b',
  name: 'inference-qwen-4b', apiBase: 'http://inference-qwen-4b:8000/v1',
  servedModelName: 'Qwen/Qwen3-4B',
};
const qwenB: DesiredDeployment = {
  modelKey: 'qwen-4b-b',
  name: 'inference-qwen-4b-b', apiBase: 'http://inference-qwen-4b-b:8000/v1',
  servedModelName: 'Qwen/Qwen3-4B',
};
const llama: DesiredDeployment = {
  modelKey: 'llama',
  name: 'inference-llama', apiBase: 'http://inference-llama:8000/v1',
  servedModelName: 'meta-llama/Llama-3.2-1B',
  apiKey: 'vllm-key-1',
};

/** What LiteLLM's /model/info shows for an entry we wrote: api_key gone, defaults added. */
function asReported(entry: ManagedModelEntry, extra: Partial<GatewayEntry['model_info']> = {}): GatewayEntry {
  const { api_key: _removed, ...params } = entry.litellm_params;
  return {
    model_name: entry.model_name,
    litellm_params: { ...params, use_in_pass_through: false, merge_reasoning_content_in_choices: false },
    model_info: { ...entry.model_info, db_model: true, key: entry.litellm_params.model, mode: null, ...extra },
  };
}

const handAdded: GatewayEntry = {
  model_name: 'gpt-4o',
  litellm_params: { model: 'openai/gpt-4o' },
  model_info: { id: 'b2c5a1f0', db_model: true },
};

/** An entry of the reference tool (marked through litellm_params.organization). */
function legacy(id: string, deployment: DesiredDeployment): GatewayEntry {
  return {
    model_name: deployment.servedModelName,
    litellm_params: {
      model: `hosted_vllm/${deployment.servedModelName}`,
      api_base: `http://${deployment.name}:8000/v1`,
      organization: 'inference-vllm',
    },
    model_info: { id, db_model: true },
  };
}

describe('managedEntryFor', () => {
  it('builds the hosted_vllm entry with our marks in model_info, not in litellm_params', () => {
    const entry = managedEntryFor(llama);
    expect(entry).toEqual({
      model_name: 'meta-llama/Llama-3.2-1B',
      litellm_params: {
        model: 'hosted_vllm/meta-llama/Llama-3.2-1B',
        api_base: 'http://inference-llama:8000/v1',
        api_key: 'vllm-key-1',
      },
      model_info: {
        id: 'inferstack-inference-llama',
        managed_by: 'inferstack',
        inferstack_model_key: 'llama',
        inferstack_spec: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
    });
    expect(entry.litellm_params).not.toHaveProperty('organization');
    expect(managedEntryFor(qwen).litellm_params).not.toHaveProperty('api_key');
  });

  it('is deterministic', () => {
    expect(managedEntryFor(llama)).toEqual(managedEntryFor({ ...llama }));
  });
});

describe('deploymentId', () => {
  it('is the container name with a prefix, URL-safe', () => {
    expect(deploymentId('inference-org--name')).toBe('inferstack-inference-org--name');
    expect(encodeURIComponent(deploymentId('inference-a.b_c'))).toBe(deploymentId('inference-a.b_c'));
  });

  it('replaces characters Docker names cannot have and keeps such ids distinct', () => {
    const a = deploymentId('inference-org/name');
    const b = deploymentId('inference-org:name');
    expect(a).toMatch(/^inferstack-inference-org-name-[0-9a-f]{8}$/);
    expect(a).not.toContain('/');
    expect(a).not.toBe(b);
  });
});

describe('specDigest', () => {
  const base = { model_name: 'm', litellm_params: { model: 'hosted_vllm/m', api_base: 'http://c:8000/v1' } };
  const withKey = (key: string) => ({ ...base, litellm_params: { ...base.litellm_params, api_key: key } });

  it('with a secret: changes with api_base and api_key, and never contains the key', () => {
    expect(specDigest(base, 'stack-secret')).not.toBe(specDigest(withKey('sk-vllm'), 'stack-secret'));
    expect(specDigest(withKey('sk-vllm'), 'stack-secret')).not.toBe(specDigest(withKey('sk-vllm-2'), 'stack-secret'));
    expect(specDigest({ ...base, litellm_params: { ...base.litellm_params, api_base: 'http://d:8000/v1' } }, 'stack-secret')).not.toBe(specDigest(base, 'stack-secret'));
    expect(specDigest(withKey('sk-vllm'), 'stack-secret')).not.toContain('sk-vllm');
  });

  it('a gateway key holder who reads the digest cannot test guesses of the api key without the secret', () => {
    // What anyone with a gateway key reads in /model/info:
    const stored = managedEntryFor(llama, { digestKey: 'stack-secret-0123456789' }).model_info.inferstack_spec;
    // ... and what they can compute for a guess (the right one, here) without the secret:
    expect(specDigest({ model_name: llama.servedModelName, litellm_params: { model: `hosted_vllm/${llama.servedModelName}`, api_base: llama.apiBase, api_key: llama.apiKey } })).not.toBe(stored);
    expect(specDigest({ model_name: llama.servedModelName, litellm_params: { model: `hosted_vllm/${llama.servedModelName}`, api_base: llama.apiBase, api_key: llama.apiKey } }, 'a-wrong-guess')).not.toBe(stored);
    // Another secret, another digest.
    expect(managedEntryFor(llama, { digestKey: 'another-secret' }).model_info.inferstack_spec).not.toBe(stored);
  });

  it('without a secret the api key does not enter the digest at all', () => {
    expect(specDigest(withKey('sk-vllm'))).toBe(specDigest(base));
    expect(specDigest(withKey('sk-vllm'))).toBe(specDigest(withKey('sk-other')));
    expect(managedEntryFor(llama).model_info.inferstack_spec).toBe(managedEntryFor({ ...llama, apiKey: undefined }).model_info.inferstack_spec);
  });
});

describe('planGatewaySync', () => {
  it("with an owner, changes only the owner's entries: two stacks sharing a gateway keep each other's", () => {
    const alphaQwen = asReported(managedEntryFor(qwen, { owner: 'alpha' }));
    const betaLlama = asReported(managedEntryFor(llama, { owner: 'beta' }));
    // Alpha serves nothing now: its entry goes, beta's stays.
    expect(planGatewaySync([], [alphaQwen, betaLlama, handAdded], { owner: 'alpha' })).toEqual([expect.objectContaining({ kind: 'remove', id: 'inferstack-inference-qwen-4b' })]);
    expect(planGatewaySync([llama], [alphaQwen, betaLlama, handAdded], { owner: 'beta' })).toEqual([]);
    expect(alphaQwen.model_info.inferstack_stack).toBe('alpha');
    // Without an owner (one stack per gateway, as before), every entry of ours counts.
    expect(planGatewaySync([], [alphaQwen, betaLlama]).map((c) => c.kind)).toEqual(['remove', 'remove']);
  });

  it('adopts an entry from before owners existed when it wants its id, and leaves the others', () => {
    const ownerless = asReported(managedEntryFor(qwen));
    const otherOwnerless = asReported(managedEntryFor(llama));
    const changes = planGatewaySync([qwen], [ownerless, otherOwnerless], { owner: 'alpha' });
    expect(changes).toEqual([expect.objectContaining({ kind: 'replace', fromId: 'inferstack-inference-qwen-4b', fields: ['owner'] })]);
  });

  it('adds every running deployment to an empty gateway', () => {
    const changes = planGatewaySync([qwen, llama], []);
    expect(changes.map((c) => [c.kind, c.kind === 'add' ? c.entry.model_info.id : ''])).toEqual([
      ['add', 'inferstack-inference-llama'],
      ['add', 'inferstack-inference-qwen-4b'],
    ]);
  });

  it('has nothing to do when the gateway already matches (LiteLLM defaults and removed keys ignored)', () => {
    const actual = [managedEntryFor(qwen), managedEntryFor(llama)].map((e) => asReported(e));
    expect(planGatewaySync([qwen, llama], [...actual, handAdded])).toEqual([]);
  });

  it('never touches entries added by hand, even when nothing is desired', () => {
    const handWithOurName: GatewayEntry = {
      model_name: qwen.servedModelName,
      litellm_params: { model: 'hosted_vllm/x', api_base: 'http://inference-qwen-4b:8000/v1' },
      model_info: { id: 'by-hand-1' },
    };
    expect(planGatewaySync([], [handAdded, handWithOurName])).toEqual([]);
    expect(isManagedEntry(handWithOurName)).toBe(false);
  });

  it('removes our entries whose container is not running', () => {
    const actual = [asReported(managedEntryFor(qwen)), asReported(managedEntryFor(llama)), handAdded];
    const changes = planGatewaySync([qwen], actual);
    expect(changes).toEqual([
      expect.objectContaining({
        kind: 'remove',
        id: 'inferstack-inference-llama',
        modelName: 'meta-llama/Llama-3.2-1B',
        reason: 'not-running',
      }),
    ]);
  });

  it('makes one deployment per container for a model served several times (load-balanced group)', () => {
    const changes = planGatewaySync([qwen, qwenB], []);
    expect(changes).toHaveLength(2);
    const entries = changes.map((c) => (c.kind === 'add' ? c.entry : undefined));
    expect(entries.map((e) => e?.model_name)).toEqual(['Qwen/Qwen3-4B', 'Qwen/Qwen3-4B']);
    expect(new Set(entries.map((e) => e?.model_info.id)).size).toBe(2);
    expect(entries.map((e) => e?.litellm_params.api_base)).toEqual([
      'http://inference-qwen-4b:8000/v1',
      'http://inference-qwen-4b-b:8000/v1',
    ]);
  });

  it('shrinks a load-balanced group by removing only the stopped deployment', () => {
    const actual = [asReported(managedEntryFor(qwen)), asReported(managedEntryFor(qwenB))];
    expect(planGatewaySync([qwenB], actual)).toEqual([
      expect.objectContaining({ kind: 'remove', id: 'inferstack-inference-qwen-4b' }),
    ]);
  });

  it('replaces an entry whose api_base changed', () => {
    const stale = asReported(managedEntryFor(qwen));
    stale.litellm_params.api_base = 'http://inference-qwen-4b:9000/v1';
    const [change, ...rest] = planGatewaySync([qwen], [stale]);
    expect(rest).toEqual([]);
    expect(change).toMatchObject({ kind: 'replace', reason: 'changed', fromId: 'inferstack-inference-qwen-4b' });
    expect(change?.kind === 'replace' && change.fields).toContain('api_base');
  });

  it('replaces an entry whose api_key changed, seen only through the stored digest (keyed with the secret the sync is given)', () => {
    const scope = { digestKey: 'stack-secret-0123456789' };
    const before = asReported(managedEntryFor(llama, scope)); // api_key is not in /model/info
    expect(planGatewaySync([llama], [before], scope)).toEqual([]);
    const changes = planGatewaySync([{ ...llama, apiKey: 'vllm-key-2' }], [before], scope);
    expect(changes).toEqual([
      expect.objectContaining({ kind: 'replace', reason: 'changed', fields: ['spec'], fromId: 'inferstack-inference-llama' }),
    ]);
    // ... and a removed key is a change too
    expect(planGatewaySync([{ ...llama, apiKey: undefined }], [before], scope)).toHaveLength(1);
    // Without the secret, the key is not in the digest: a changed key alone is not seen.
    expect(planGatewaySync([{ ...llama, apiKey: 'vllm-key-2' }], [asReported(managedEntryFor(llama))])).toEqual([]);
  });

  it('replaces an entry whose served model name changed', () => {
    const before = asReported(managedEntryFor(qwen));
    const changes = planGatewaySync([{ ...qwen, servedModelName: 'qwen3' }], [before]);
    expect(changes).toEqual([expect.objectContaining({ kind: 'replace', fields: ['model_name', 'model', 'spec'] })]);
  });

  it('removes duplicates of one of our ids and keeps one', () => {
    const one = asReported(managedEntryFor(qwen));
    const changes = planGatewaySync([qwen], [one, { ...one }]);
    expect(changes).toEqual([expect.objectContaining({ kind: 'remove', reason: 'duplicate', id: one.model_info.id })]);
  });

  it('counts a deployment listed twice once', () => {
    expect(planGatewaySync([qwen, { ...qwen }], [])).toHaveLength(1);
  });

  it('migrates reference-tool entries: replaced by ours when running, removed otherwise', () => {
    const actual = [legacy('model-0', qwen), legacy('model-1', llama), handAdded];
    const changes = planGatewaySync([qwen], actual);
    expect(changes).toEqual([
      expect.objectContaining({
        kind: 'replace',
        reason: 'migrate',
        fromId: 'model-0',
        entry: managedEntryFor(qwen),
      }),
      expect.objectContaining({ kind: 'remove', reason: 'legacy', id: 'model-1' }),
    ]);
  });

  it('migrates a legacy entry next to one of ours for the same container by removing it', () => {
    const actual = [asReported(managedEntryFor(qwen)), legacy('model-0', qwen)];
    expect(planGatewaySync([qwen], actual)).toEqual([
      expect.objectContaining({ kind: 'remove', reason: 'legacy', id: 'model-0' }),
    ]);
  });

  describe("never writes over an entry of the gateway's config file (db_model: false)", () => {
    // /model/new with such an id answers 200 and silently replaces the config file's entry.
    const fromFile = (entry: GatewayEntry): GatewayEntry => ({ ...entry, model_info: { ...entry.model_info, db_model: false } });

    it("refuses a wanted entry whose id a hand-made config entry has, and still adds the others", () => {
      const handMade = fromFile({ model_name: 'mine', litellm_params: { model: 'openai/x' }, model_info: { id: 'inferstack-inference-qwen-4b' } });
      const changes = planGatewaySync([qwen, llama], [handMade], { owner: 'alpha' });
      expect(changes).toEqual([
        { kind: 'conflict', reason: 'config-file', entry: managedEntryFor(qwen, { owner: 'alpha' }), existing: handMade },
        expect.objectContaining({ kind: 'add', entry: expect.objectContaining({ model_info: expect.objectContaining({ id: 'inferstack-inference-llama' }) }) }),
      ]);
    });

    it("refuses to replace an entry of ours that lives in the config file (config-file mode before), and keeps one that matches", () => {
      const ours = fromFile(asReported(managedEntryFor(qwen, { owner: 'alpha' })));
      expect(planGatewaySync([qwen], [ours], { owner: 'alpha' })).toEqual([]);
      const moved = { ...qwen, apiBase: 'http://elsewhere:8000/v1' };
      expect(planGatewaySync([moved], [ours], { owner: 'alpha' })).toEqual([
        { kind: 'conflict', reason: 'config-file', entry: managedEntryFor(moved, { owner: 'alpha' }), existing: ours },
      ]);
    });

    it('refuses a migration onto an id the config file has, and leaves the reference-tool entry routed', () => {
      const handMade = fromFile({ model_name: 'mine', litellm_params: { model: 'openai/x' }, model_info: { id: 'inferstack-inference-qwen-4b' } });
      const old = legacy('model-0', qwen);
      const changes = planGatewaySync([qwen], [handMade, old]);
      expect(changes).toEqual([expect.objectContaining({ kind: 'conflict', existing: handMade })]);
    });

    it('shows the refusal in the plan', () => {
      const handMade = fromFile({ model_name: 'mine', litellm_params: { model: 'openai/x' }, model_info: { id: 'inferstack-inference-qwen-4b' } });
      expect(formatGatewayPlan(planGatewaySync([qwen], [handMade]))).toEqual([
        "! refuse  Qwen/Qwen3-4B  inferstack-inference-qwen-4b  id taken by an entry of the gateway's config file",
      ]);
    });
  });

  it('orders changes: adds, replaces, removes, each by id', () => {
    const stale = asReported(managedEntryFor(qwenB));
    stale.litellm_params.api_base = 'http://elsewhere:8000/v1';
    const gone = asReported(managedEntryFor({ ...qwen, name: 'inference-old', apiBase: 'http://inference-old:8000/v1' }));
    const changes = planGatewaySync([llama, qwenB, qwen], [gone, stale]);
    expect(changes.map((c) => c.kind)).toEqual(['add', 'add', 'replace', 'remove']);
  });
});

describe('formatGatewayPlan', () => {
  it('prints one aligned line per change and no keys', () => {
    const scope = { digestKey: 'stack-secret' };
    const stale = asReported(managedEntryFor(llama, scope));
    stale.litellm_params.api_base = 'http://old:8000/v1';
    const lines = formatGatewayPlan(
      planGatewaySync([qwen, { ...llama, apiKey: 'vllm-key-2' }], [stale, legacy('model-7', qwenB)], scope),
    );
    expect(lines).toEqual([
      '+ add      Qwen/Qwen3-4B            inferstack-inference-qwen-4b  -> http://inference-qwen-4b:8000/v1',
      '~ replace  meta-llama/Llama-3.2-1B  inferstack-inference-llama    changed: api_base, spec',
      '- remove   Qwen/Qwen3-4B            model-7                       reference-tool entry, container not running',
    ]);
    expect(lines.join('\n')).not.toContain('vllm-key');
  });

  it('prints nothing for an empty plan', () => {
    expect(formatGatewayPlan([])).toEqual([]);
  });
});

describe('deploymentOfEntry', () => {
  it('gives back the deployment an entry was written for: syncing it again changes nothing', () => {
    const desired = [
      { name: 'inference-b', modelKey: 'b', apiBase: 'http://172.31.250.1:32801/v1', servedModelName: 'org/b', apiKey: 'os.environ/INFERSTACK_VLLM_KEY_B' },
      { name: 'inference-c', modelKey: 'c', apiBase: 'http://inference-c:8000/v1', servedModelName: 'org/c' },
      { name: 'inference-d-r1', modelKey: 'd', apiBase: 'http://inference-d-r1:8000/v1', servedModelName: 'org/d', routing: { strategy: 'prefix' as const, affinity: 'd#1' } },
    ];
    const entries = desired.map((d) => managedEntryFor(d, { owner: 's' })) as unknown as GatewayEntry[];
    // The plugin reads the routing in model_info.
    expect(entries[2]!.model_info).toMatchObject({ inferstack_routing: 'prefix', inferstack_affinity: 'd#1' });
    // Another routing is a changed entry (replaced), the same backend otherwise.
    const { routing: _r, ...leastBusy } = desired[2]!;
    expect(planGatewaySync([desired[0]!, desired[1]!, leastBusy], entries, { owner: 's' })).toEqual([expect.objectContaining({ kind: 'replace', fields: ['routing'] })]);
    const back = entries.map((e) => deploymentOfEntry(e));
    expect(back).toEqual(desired);
    expect(planGatewaySync(back as DesiredDeployment[], entries, { owner: 's' })).toEqual([]);
    // LiteLLM does not return api_key: the caller gives the one it was written with.
    const { api_key: _, ...params } = entries[0]!.litellm_params;
    expect(deploymentOfEntry({ ...entries[0]!, litellm_params: params }, 'os.environ/INFERSTACK_VLLM_KEY_B')).toEqual(desired[0]);
  });

  it('is undefined for entries inferstack did not write', () => {
    expect(deploymentOfEntry({ model_name: 'x', litellm_params: { api_base: 'http://x/v1' }, model_info: { id: 'hand-made' } })).toBeUndefined();
  });
});
