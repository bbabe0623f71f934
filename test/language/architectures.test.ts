/**
 * The language side of Qwen3, Phi-3, Gemma 2 and Gemma 3 (fixtures/hub/: their published config.json files):
 * completion offers each model's own blocks and names, hover says what a spelling means per family, and
 * diagnostics refuse other families' names and blocks the model lacks; a spelling shared by families with
 * different meanings (`post_attention_layernorm`) is read in the model's family, and with an unreadable model is a
 * warning.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { complete } from '../../language/features/completion';
import { hover } from '../../language/features/hover';
import { check, fixturesDir, marked, summarize } from './helpers';

const model = (name: string): string =>
  `model m {\n  path "${path.join(fixturesDir, 'hub', name)}"\n}\nprompts train {\n  data "facts.csv"\n  template "{statement}"\n}\n`;
const tune = (name: string, blocks: string): string => `${model(name)}tune t {\n  prompts train\n  layers 0..1\n  token_loss { blocks [${blocks}] }\n}\n`;

function completions(name: string): string[] {
  const m = marked(tune(name, '‸'));
  return complete(check(m.text), m.carets[0] as number).map((i) => i.label);
}

function blockDiagnostics(name: string, blocks: string): string[] {
  const text = tune(name, blocks);
  return summarize(
    check(text).diagnostics.filter((d) => d.code === 'block-arch'),
    text,
  );
}

describe('language: today’s architectures', () => {
  it('completion offers each model’s blocks and its own tensor names', () => {
    const gemma3 = completions('gemma-3-1b-pt');
    for (const w of ['q_norm', 'k_norm', 'attn_post_norm', 'mlp_post_norm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm', 'self_attn.q_norm'])
      assert.ok(gemma3.includes(w), w);
    const phi = completions('phi-3-mini-4k-instruct');
    for (const w of ['gate', 'self_attn.qkv_proj', 'mlp.gate_up_proj', 'input_layernorm']) assert.ok(phi.includes(w), w);
    assert.ok(!phi.includes('self_attn.q_proj') && !phi.includes('q_norm') && !phi.includes('attn_post_norm'));
    const qwen = completions('qwen3-0.6b');
    assert.ok(qwen.includes('q_norm') && qwen.includes('self_attn.q_norm') && !qwen.includes('attn_post_norm'));
    const gemma2 = completions('gemma-2-2b');
    assert.ok(gemma2.includes('attn_post_norm') && !gemma2.includes('q_norm'));
  });

  it("diagnostics: other families' names, missing blocks, and a spelling read in another family's meaning", () => {
    assert.deepEqual(blockDiagnostics('phi-3-mini-4k-instruct', 'qkv_proj, gate_up_proj, o_proj, mlp_norm'), []);
    assert.deepEqual(blockDiagnostics('gemma-3-1b-pt', 'q_proj, q_norm, pre_feedforward_layernorm, attn_post_norm'), []);
    const phi = blockDiagnostics('phi-3-mini-4k-instruct', 'q_proj, q_norm');
    assert.equal(phi.length, 2, phi.join('\n'));
    assert.match(phi[0] as string, /`q_proj` is a Llama-family name; model `m` is Phi-3: write q \(the q columns of self_attn\.qkv_proj\)/);
    assert.match(phi[1] as string, /Phi-3 has no `q_norm` block/);
    const g2 = blockDiagnostics('gemma-2-2b', 'post_attention_layernorm, q_norm');
    assert.equal(g2.length, 1, g2.join('\n'));
    assert.match(g2[0] as string, /Gemma 2 has no `q_norm` block/);
    assert.deepEqual(blockDiagnostics('qwen3-0.6b', 'post_attention_layernorm, self_attn.q_norm'), []);
  });

  it('a spelling means what it means in the model’s family, in the run config too', () => {
    const blocksOf = (name: string, blocks: string): unknown => check(tune(name, blocks)).config?.tunes['t']?.tokenLoss.blocks;
    assert.deepEqual(blocksOf('gemma-2-2b', 'post_attention_layernorm'), ['attn_post_norm']);
    assert.deepEqual(blocksOf('gemma-2-2b', 'pre_feedforward_layernorm, input_layernorm'), ['attn_norm', 'mlp_norm']);
    assert.deepEqual(blocksOf('qwen3-0.6b', 'post_attention_layernorm'), ['mlp_norm']);
    assert.deepEqual(blocksOf('phi-3-mini-4k-instruct', 'qkv_proj, gate_up_proj'), ['q', 'k', 'v', 'gate', 'up']);
    // A model that cannot be read: the first family's reading, with a warning that names both.
    const text = tune('does-not-exist', 'post_attention_layernorm');
    const a = check(text);
    assert.deepEqual(a.config?.tunes['t']?.tokenLoss.blocks, ['mlp_norm']);
    assert.deepEqual(
      summarize(
        a.diagnostics.filter((d) => d.code === 'block-arch'),
        text,
      ),
      [
        'block-arch:"post_attention_layernorm": `post_attention_layernorm` is mlp_norm in Llama-family, Qwen3, Phi-3 models but attn_post_norm in Gemma 2, Gemma 3; model `m` cannot be read now, so it is read as mlp_norm: write the generic name to be sure',
      ],
    );
  });

  it('hover names the model, and what a spelling means in each family', () => {
    const m = marked(tune('gemma-2-2b', 'post_attention_lay‸ernorm'));
    const text = hover(check(m.text), m.carets[0] as number)?.markdown ?? '';
    assert.match(text, /`post_attention_layernorm` \(Llama-family, Qwen3, Phi-3 name\) = `mlp_norm`; in Gemma 2, Gemma 3: `attn_post_norm`/);
    const h = marked(`model m {\n  path "${path.join(fixturesDir, 'hub', 'gemma-3-1b-pt')}‸"\n}\n`);
    assert.match(hover(check(h.text), h.carets[0] as number)?.markdown ?? '', /Gemma 3\*\* · 26 layers · hidden 1152 · 999\.9M parameters/);
  });
});
