/**
 * Cross-field rules of `eval` and `export` sections: what an eval measures and with which prompts, steering and
 * GGUF positions and layers (layer 0, which llama.cpp cannot steer), what an export writes. Part of rules.ts.
 */
import type { AnalysisCore, SectionInfo } from './lower';
import { BlockValues } from './block-values';
import { at, checkNeedsModel, keySpan, report, type Sink } from './rule-helpers';

export function checkEval(a: AnalysisCore, s: SectionInfo, sink: Sink): void {
  const v = s.values;
  checkNeedsModel(a, s, sink);
  if (!v.has('perplexity') && !v.has('ab') && !v.has('steering') && !v.has('projection_cosine') && !v.has('generate')) {
    report(sink, s.headerSpan, 'an eval needs at least one of `perplexity { }`, `ab { }`, `steering { }`, `projection_cosine { }` or `generate { }`');
  }
  if (v.has('perplexity')) {
    const p = v.block('perplexity');
    if (p.number('stride') > p.number('max_length')) {
      report(
        sink,
        at(p, 'stride', s.headerSpan),
        `\`stride\` (${p.number('stride')}) must not exceed \`max_length\` (${p.number('max_length')}): tokens between windows would never be scored`,
      );
    }
  }
  const tuned = v.has('tuned');
  if (v.has('ab')) {
    const ab = v.block('ab');
    if (!ab.has('prompts') && !tuned)
      report(sink, keySpan(v, 'ab', s.headerSpan), '`ab` needs `prompts`, or a `tuned` run whose held-out statements it evaluates');
    if (ab.has('holdout') && ab.flag('holdout') && !tuned)
      report(sink, keySpan(ab, 'holdout', s.headerSpan), '`holdout true` needs a `tuned` run to take the held-out split from');
  }
  if (v.has('projection_cosine')) {
    const pr = v.block('projection_cosine');
    if (!pr.has('direction') && !tuned)
      report(sink, keySpan(v, 'projection_cosine', s.headerSpan), '`projection_cosine` needs a `direction`, or a `tuned` run whose direction it measures');
    if (!pr.has('prompts') && !tuned)
      report(sink, keySpan(v, 'projection_cosine', s.headerSpan), '`projection_cosine` needs `prompts`, or a `tuned` run whose held-out prompts it reads');
  }
  if (v.has('generate') && !v.block('generate').has('prompts') && !tuned) {
    report(sink, keySpan(v, 'generate', s.headerSpan), '`generate` needs `prompts`, or a `tuned` run whose held-out prompts it continues');
  }
  if (v.has('steering')) {
    const st = v.block('steering');
    if (!st.has('prompts') && !v.block('ab').has('prompts') && !tuned)
      report(sink, keySpan(v, 'steering', s.headerSpan), '`steering` needs prompts: set `prompts` here or in `ab`, or a `tuned` run');
    if (st.has('max_ppl_increase') && !v.has('perplexity'))
      report(
        sink,
        keySpan(st, 'max_ppl_increase', s.headerSpan),
        '`max_ppl_increase` bounds the perplexity cost of a steering cell, which needs a `perplexity { data ... }` block in this eval; add one or remove the key',
      );
    const direction = a.section('direction', st.text('direction'));
    if (direction !== undefined) checkPosition(st, direction, s, sink);
    const layers = st.layers('layers');
    const gguf = a.sectionsOf('export').find((x) => exportDirection(a, x) === direction?.name && exportsGguf(x));
    if (gguf !== undefined && layers !== undefined && layers !== 'all' && layers.includes(0)) {
      report(
        sink,
        at(st, 'layers', s.headerSpan),
        `steering at layer 0 cannot be reproduced with the llama.cpp control vector of \`export ${gguf.name}\`: llama.cpp cannot steer block 0, so layer 0 is left out of its direction.gguf`,
        'warning',
      );
    }
  }
}

/** The direction an export writes: its own `direction`, else its tune's. */
function exportDirection(a: AnalysisCore, x: SectionInfo): string | undefined {
  const v = x.values;
  if (v.has('direction')) return v.str('direction');
  return v.has('tune') ? a.section('tune', v.text('tune'))?.values.str('direction') : undefined;
}

function exportsGguf(x: SectionInfo): boolean {
  return x.values.enums('direction_formats')?.includes('gguf') === true;
}

/** A `position` key (steering, export) must name one of the direction's positions. */
function checkPosition(v: BlockValues, direction: SectionInfo, s: SectionInfo, sink: Sink): void {
  const positions = direction.values.offsets('positions');
  const p = v.has('position') ? v.num('position') : undefined;
  if (p !== undefined && positions !== undefined && !positions.includes(p)) {
    report(sink, at(v, 'position', s.headerSpan), `position ${p} is not among direction \`${direction.name}\`'s positions (${positions.join(', ')})`);
  }
}

export function checkExport(a: AnalysisCore, s: SectionInfo, sink: Sink): void {
  const v = s.values;
  if (!v.has('tune') && !v.has('direction')) report(sink, s.headerSpan, 'an export needs a `tune` (weights) or a `direction`');
  if (!v.has('tune') && v.has('weights') && v.str('weights') !== 'none')
    report(sink, at(v, 'weights', s.headerSpan), '`weights` needs a `tune` to take the weights from');
  const gguf = exportsGguf(s);
  for (const k of ['position', 'layers']) {
    if (v.has(k) && !gguf)
      report(sink, keySpan(v, k, s.headerSpan), `\`${k}\` shapes only the GGUF control vector: add gguf to \`direction_formats\` or remove it`, 'warning');
  }
  const dname = exportDirection(a, s);
  const direction = dname !== undefined ? a.section('direction', dname) : undefined;
  if (direction !== undefined) {
    checkPosition(v, direction, s, sink);
    const dirLayers = direction.values.layers('layers');
    const layers = v.layers('layers');
    if (v.has('layers') && dirLayers !== undefined && dirLayers !== 'all' && layers !== undefined) {
      const missing = layers === 'all' ? ['all'] : layers.filter((l) => !dirLayers.includes(l));
      if (missing.length > 0)
        report(
          sink,
          at(v, 'layers', s.headerSpan),
          `direction \`${direction.name}\` was not extracted at layer${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (its layers: ${dirLayers.join(', ')})`,
        );
    }
  }
  if (gguf) {
    // The GGUF layers: `layers`, else the tune's (an unset `layers` with no tune means every extracted layer, and
    // leaving layer 0 out of that is said in the export's result and README).
    const tune = v.has('tune') ? a.section('tune', v.text('tune')) : undefined;
    const from = v.has('layers')
      ? { layers: v.layers('layers'), span: at(v, 'layers', s.headerSpan), what: '`layers`' }
      : tune !== undefined
        ? { layers: tune.values.layers('layers'), span: at(v, 'tune', s.headerSpan), what: `tune \`${tune.name}\`'s layers` }
        : undefined;
    if (from !== undefined && (from.layers === 'all' || from.layers?.includes(0) === true)) {
      report(
        sink,
        from.span,
        `${from.what} include layer 0, which is left out of direction.gguf: llama.cpp cannot apply a control vector to block 0`,
        'warning',
      );
    }
  }
}
