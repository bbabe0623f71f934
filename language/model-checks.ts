/**
 * Model-aware checks: when a section's model resolves to readable metadata (config.json or a llama2.c header,
 * read once by the host and cached), layer indices beyond the model's depth and parameter blocks its
 * architecture lacks are errors, and windows longer than its context are flagged. When the model does not
 * resolve (no environment, a path that does not exist yet), these checks are silently off: a file that names a
 * model you have not downloaded is still a valid file. Non-goals: data files (lower.ts), rules between keys.
 */

import { BlockValues } from './block-values';
import { ArchitectureFamily, BLOCK_ALIASES, BLOCK_TENSORS, BlockName, FAMILY_NAMES, aliasFamilies } from '../model/blocks';
import type { AnalysisCore } from './lower';
import { ModelInfo, architectureName } from './model-info';
import { Diagnostic, span } from './text';

type Sink = (d: Diagnostic) => void;

/** How a family's own naming spells a generic block, for messages. */
function spelling(family: ArchitectureFamily, block: BlockName): string {
  const t = BLOCK_TENSORS[family][block];
  if (t === undefined) return block;
  return t.slice !== undefined ? `${block} (the ${t.slice} columns of ${t.tensor})` : `${block} (${t.tensor})`;
}

function checkValues(values: BlockValues, info: ModelInfo, modelName: string, sink: Sink): void {
  const arch = architectureName(info.architecture);
  for (const kv of values.allWritten()) {
    const lowered = kv.lowered;
    if (lowered === undefined) continue;
    if (lowered.kind === 'layers') {
      // Items of one range share its span: report each written item once, naming every layer it overshoots.
      const bySpan = new Map<number, { span: { start: number; end: number }; beyond: number[] }>();
      for (const item of lowered.items) {
        if (item.value < info.nLayers) continue;
        let group = bySpan.get(item.span.start);
        if (group === undefined) {
          group = { span: item.span, beyond: [] };
          bySpan.set(item.span.start, group);
        }
        group.beyond.push(item.value);
      }
      for (const { span: s, beyond } of bySpan.values()) {
        const which = beyond.length === 1 ? `layer ${beyond[0]} is` : `layers ${beyond[0]}..${beyond[beyond.length - 1]} are`;
        sink({
          code: 'layer-depth',
          severity: 'error',
          span: span(s.start, s.end),
          message: `${which} beyond the depth of model \`${modelName}\`: ${arch} with ${info.nLayers} layers (0..${info.nLayers - 1})`,
        });
      }
    }
    if (lowered.kind === 'blocks') {
      for (const item of lowered.items) {
        const where = span(item.span.start, item.span.end);
        // A spelling means what it means in the model's family (builders.ts reads it so): post_attention_layernorm
        // is mlp_norm on Llama but attn_post_norm on Gemma.
        const own = item.family !== undefined ? BLOCK_ALIASES[info.family][item.word] : undefined;
        if (item.family !== undefined && item.family !== info.family && own === undefined) {
          const generic = item.value.map((b) => spelling(info.family, b)).join(', ');
          sink({
            code: 'block-arch',
            severity: 'error',
            span: where,
            message: `\`${item.word}\` is a ${FAMILY_NAMES[item.family]} name; model \`${modelName}\` is ${arch}: write ${generic}`,
          });
          continue;
        }
        const lacking = (own ?? item.value).filter((b) => BLOCK_TENSORS[info.family][b] === undefined);
        if (lacking.length > 0) {
          const hint = info.family === 'gpt2' && lacking.includes('gate') ? ' (its MLP is mlp.c_fc → mlp.c_proj, with no gate)' : '';
          sink({ code: 'block-arch', severity: 'error', span: where, message: `${arch} has no \`${lacking.join('`, `')}\` block${hint}` });
        }
      }
    }
  }
  for (const [, nested] of values.nestedBlocks()) checkValues(nested, info, modelName, sink);
}

/**
 * Without a readable model, a spelling whose meaning differs between families is read in its first family's
 * meaning: say so, and that the generic name is unambiguous.
 */
function checkAmbiguous(values: BlockValues, modelName: string | undefined, sink: Sink): void {
  for (const kv of values.allWritten()) {
    if (kv.lowered?.kind !== 'blocks') continue;
    for (const item of kv.lowered.items) {
      const families = aliasFamilies(item.word);
      const other = families.filter((f) => f.blocks.join() !== item.value.join());
      if (other.length === 0) continue;
      const names = (fs: typeof families): string => fs.map((f) => FAMILY_NAMES[f.family]).join(', ');
      const same = families.filter((f) => f.blocks.join() === item.value.join());
      sink({
        code: 'block-arch',
        severity: 'warning',
        span: span(item.span.start, item.span.end),
        message:
          `\`${item.word}\` is ${item.value.join(', ')} in ${names(same)} models but ${other[0]?.blocks.join(', ')} in ${names(other)}; ` +
          `${modelName !== undefined ? `model \`${modelName}\` cannot be read now` : 'no model is known here'}, so it is read as ${item.value.join(', ')}: write the generic name to be sure`,
      });
    }
  }
  for (const [, nested] of values.nestedBlocks()) checkAmbiguous(nested, modelName, sink);
}

export function checkModels(a: AnalysisCore, sink: Sink): void {
  for (const s of a.sections) {
    if (s.kind === 'model' || s.kind === 'prompts') continue;
    const model = a.modelOf(s);
    const info = model?.info;
    if (model === undefined || info === undefined) {
      checkAmbiguous(s.values, model?.section.name, sink);
      continue;
    }
    checkValues(s.values, info, model.section.name, sink);
    if (s.kind === 'eval' && s.values.has('perplexity')) {
      const p = s.values.block('perplexity');
      const maxLength = p.number('max_length');
      if (maxLength > info.maxPositions) {
        const e = p.entryOf('max_length');
        sink({
          code: 'model',
          severity: 'warning',
          span: e?.value !== undefined ? span(e.value.start, e.value.end) : s.headerSpan,
          message: `\`max_length\` ${maxLength} exceeds the context length of model \`${model.section.name}\` (${info.maxPositions}); windows will be capped at ${info.maxPositions}`,
        });
      }
    }
  }
}
