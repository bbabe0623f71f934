/**
 * README.md of an HF model export (hf.ts): what the folder holds and how to load it, true for the source's format.
 * An HF source's export (full) loads with `from_pretrained`; its 'changed' delta goes on top of the base folder. A
 * llama2.c source's full export is a converted Llama folder that `from_pretrained` loads (with the tokenizer.json
 * converted from tokenizer.bin, when that was possible) plus a model.bin that llama2.c's `run` reads; its 'changed' delta has HF Llama names and layouts, and its
 * base is a `.bin` that transformers cannot read, so the README says so and names the ways that work.
 *
 * Non-goals: model cards (metrics, intended use), Hub metadata.
 */

import type { HfExportManifest } from './hf';

export function hfExportReadme(m: HfExportManifest): string {
  const llama2c = m.source.format === 'llama2c';
  const tok = m.tokenizer;
  const hasHfTokenizer = tok !== null && tok.files.some((f) => f === 'tokenizer.json' || f === 'tokenizer.model' || f === 'vocab.json');
  const lines = [
    `# rtune export (${m.mode})`,
    '',
    `Source model: \`${m.source.path}\` (${llama2c ? 'a llama2.c checkpoint' : `Hugging Face ${m.source.modelType}`}), exported as \`${m.architecture}\`, dtype ${m.dtype}.`,
    '',
    '## Files',
    '',
    m.mode === 'full'
      ? `- \`model.safetensors\`: every tensor of the model (${m.tensors.length}), Hugging Face names and layouts.`
      : `- \`model.safetensors\`: only the ${m.tensors.length} tensor(s) that differ from the base (${m.unchanged} unchanged left out), Hugging Face names and layouts.`,
    m.config.from !== null
      ? `- \`config.json\`: the source's own config.json, carried unchanged${
          Object.keys(m.config.changed).length > 0
            ? ` except ${Object.entries(m.config.changed)
                .map(([k, v]) => `\`${k}\` = "${v}" (the export's dtype)`)
                .join(', ')}`
            : ''
        }.`
      : llama2c
        ? '- `config.json`: a `LlamaConfig` built from the llama2.c header (dimensions, heads, vocabulary, sequence length, tied embeddings).'
        : '- `config.json`: built from the model description.',
  ];
  if (tok !== null) {
    for (const f of tok.files) lines.push(`- \`${f}\`: ${fileNote(f, tok.kind)}`);
  }
  if (llama2c && m.mode === 'full') {
    lines.push("- `model.bin`: the same weights as a llama2.c checkpoint (float32, version 0), for llama2.c's `run`: `./run model.bin -z tokenizer.bin`.");
  }
  for (const f of m.licences) lines.push(`- \`${f}\`: the licence file beside the source model.`);
  lines.push(`- \`rtune-export.json\`: what was written, from what (the manifest rtune reads back).`, '');

  if (m.mode === 'full') {
    lines.push(
      llama2c
        ? "This folder is a complete Hugging Face Llama model converted from the llama2.c checkpoint (q_proj/k_proj rows permuted into transformers' rotate_half layout, as `convert_llama_weights_to_hf.py` does):"
        : 'This folder is a complete Hugging Face model:',
      '',
      '```python',
      hasHfTokenizer ? 'from transformers import AutoModelForCausalLM, AutoTokenizer' : 'from transformers import AutoModelForCausalLM',
      'model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")',
      ...(hasHfTokenizer ? ['tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")'] : []),
      '```',
      '',
      llama2c
        ? 'In rtune: `path "path/to/this/folder"` (the HF form) or `path "path/to/this/folder/model.bin"` (the llama2.c form, tokenizer.bin beside it) in a `model` section.'
        : 'In rtune: `path "path/to/this/folder"` in a `model` section.',
      '',
    );
  } else if (llama2c) {
    lines.push(
      `The base \`${m.base_model ?? ''}\` is a llama2.c checkpoint, which transformers cannot load, and these tensors are in ` +
        "Hugging Face Llama layout (q_proj/k_proj rows permuted into rotate_half order), not in the .bin's: do not patch them into the .bin.",
      '',
      '- In rtune: `loadChangedExport("path/to/this/folder")` (engine/export/hf.ts) loads the base .bin and applies them.',
      '- In transformers: export with `weights full` instead; that writes a complete Hugging Face Llama folder (config.json, safetensors, tokenizer) that `AutoModelForCausalLM.from_pretrained` loads.',
      '',
    );
  } else {
    lines.push(
      '**Do not load this folder on its own**: transformers would initialise the missing weights randomly. Load the base, then overwrite these tensors:',
      '',
      '```python',
      'from safetensors.torch import load_file',
      'from transformers import AutoModelForCausalLM',
      `model = AutoModelForCausalLM.from_pretrained("${m.base_model ?? 'BASE'}")`,
      'delta = load_file("path/to/this/folder/model.safetensors")',
      'result = model.load_state_dict(delta, strict=False)',
      'assert not result.unexpected_keys, result.unexpected_keys',
      '```',
      '',
      'In rtune: `loadChangedExport(folder)` (engine/export/hf.ts) does the same.',
      '',
    );
  }
  if (m.mode === 'changed') lines.push('Changed tensors:', '', ...m.tensors.map((t) => `- \`${t.name}\` [${t.shape.join(', ')}]`), '');
  if (m.notes.length > 0) lines.push('Notes:', '', ...m.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

function fileNote(name: string, kind: 'hf' | 'llama2c'): string {
  if (kind === 'llama2c') {
    if (name === 'tokenizer.bin') return "the source's llama2.c tokenizer, unchanged (what llama2.c's `run` reads with `-z`).";
    if (name === 'tokenizer.json') return 'the same tokenizer converted to Hugging Face form (Llama layout: BPE with byte fallback), for `AutoTokenizer`.';
    if (name === 'tokenizer_config.json') return 'its settings (BOS added, no EOS, `<s>`/`</s>`/`<unk>`).';
  }
  if (name === 'generation_config.json') return "the source's generation settings, unchanged.";
  return "copied unchanged from the source's tokenizer.";
}
