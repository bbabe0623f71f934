/**
 * The language side of Qwen3, Phi-3, Gemma 2 and Gemma 3 (fixtures/hub/: their published config.json files):
 * completion offers each model's own blocks and names, hover says what a spelling means per family, and
 * diagnostics refuse other families' names, blocks the model lacks, and a spelling read in another family's
 * meaning (`post_attention_layernorm` on Gemma), with the fix.
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
    assert.equal(g2.length, 2, g2.join('\n'));
    assert.match(
      g2[0] as string,
      /`post_attention_layernorm` is attn_post_norm \(post_attention_layernorm\) in model `m` \(Gemma 2\) but mlp_norm in the Llama-family naming: write attn_post_norm/,
    );
    assert.match(g2[1] as string, /Gemma 2 has no `q_norm` block/);
    // On the Llama family the same spelling is its usual mlp_norm.
    assert.deepEqual(blockDiagnostics('qwen3-0.6b', 'post_attention_layernorm, self_attn.q_norm'), []);
    const fix = check(tune('gemma-2-2b', 'post_attention_layernorm')).diagnostics.find((d) => d.code === 'block-arch')?.fixes?.[0];
    assert.equal(fix?.edit.newText, 'attn_post_norm');
  });

  it('hover names the model, and what a spelling means in each family', () => {
    const m = marked(tune('gemma-2-2b', 'post_attention_lay‸ernorm'));
    const text = hover(check(m.text), m.carets[0] as number)?.markdown ?? '';
    assert.match(text, /`post_attention_layernorm` \(Llama-family, Qwen3, Phi-3 name\) = `mlp_norm`; in Gemma 2, Gemma 3: `attn_post_norm`/);
    const h = marked(`model m {\n  path "${path.join(fixturesDir, 'hub', 'gemma-3-1b-pt')}‸"\n}\n`);
    assert.match(hover(check(h.text), h.carets[0] as number)?.markdown ?? '', /Gemma 3\*\* · 26 layers · hidden 1152 · 999\.9M parameters/);
  });
});
