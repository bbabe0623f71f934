/**
 * `export` sections: the tuned model as Hugging Face safetensors (full or only what changed) with the source's
 * config.json, its tokenizer (an HF folder's files, or a llama2.c tokenizer.bin copied and converted) and a README
 * true for the source format (engine/export/hf.ts), the direction as safetensors with its full metadata (what the
 * direction section wrote, plus layers, offsets, its name and the tune) and as a llama.cpp control vector (the
 * vectors at the export's `position`, for its `layers` — by default the tune's — never layer 0, which llama.cpp
 * cannot steer), and a README.md that says what was written and gives the llama.cpp command line. Every export goes to a new timestamped folder under the named
 * output (never over an earlier export), and `<output>/latest` names the newest finished one.
 */
import * as path from 'node:path';
import {
  controlVectorLayersNote,
  exportHfModel,
  exportReadme,
  llamaCppArchitecture,
  llamaCppCommand,
  writeDirectionsSafetensors,
  writeFileAtomic,
  writeGgufControlVector,
  type ControlVectorInfo,
  type ExportReadme,
  type HfExportResult,
} from '../../engine/export';
import { vectorsAt } from '../../engine/method/direction-set';
import { throwIfCancelled } from '../../engine/util/cancel';
import { loadModel } from '../../engine/model/load';
import { findTokenizer } from '../../engine/tokenizer';
import { withWeights } from '../../engine/model/weights';
import type { ExportConfig, LayerSelection } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import type { ExtractedDirection, SectionContext } from '../context';

export async function runExport(ctx: SectionContext, x: ExportConfig): Promise<RunSummary> {
  const folder = ctx.openFolder(x.output, x.name, 'export', x, { stamp: true });
  return ctx.guarded(folder, 'export', async () => {
    const written: string[] = [];
    let model: HfExportResult | undefined;
    const tuned = x.tune !== undefined ? ctx.tuned.get(x.tune) : undefined;
    if (x.tune !== undefined && x.weights !== 'none') {
      if (!tuned) throw new Error(`export ${x.name}: run tune ${x.tune} first`);
      const s = await ctx.session(tuned.model);
      const m = ctx.config.models[tuned.model];
      const srcPath = m?.source.path ?? '';
      // The tokenizer the model was opened with: its HF folder, or the llama2.c tokenizer.bin (copied and converted).
      const tok = findTokenizer(srcPath, { ...(m?.tokenizer !== undefined ? { tokenizerPath: m.tokenizer } : {}), vocabSize: s.model.config.vocabSize });
      const tokSource = tok.kind === 'hf' ? tok.dir : tok.file;
      const base = x.weights === 'changed' ? loadModel(srcPath) : undefined;
      try {
        model = await withWeights(s.model, tuned.weights, () =>
          exportHfModel(s.model, tokSource, folder.path('model'), {
            mode: x.weights === 'changed' ? 'changed' : 'full',
            dtype: x.dtype.toUpperCase() as Uppercase<typeof x.dtype>,
            ...(base ? { base: { model: base, path: srcPath } } : {}),
            ...ctx.cancel,
          }),
        );
      } finally {
        base?.dispose();
      }
      written.push('model/');
      const t = model.manifest.tokenizer;
      if (t?.converted !== undefined && 'reason' in t.converted) {
        ctx.emit(
          {
            type: 'log',
            level: 'warn',
            message: `export ${x.name}: ${t.from} is not converted to tokenizer.json (${t.converted.reason}); model/ holds tokenizer.bin only`,
          },
          folder,
        );
      }
    }
    const readme: ExportReadme = {
      name: x.name,
      ...(written.includes('model/') ? { model: 'model', weights: x.weights === 'changed' ? ('changed' as const) : ('full' as const) } : {}),
    };
    let gguf: ControlVectorInfo | undefined;
    throwIfCancelled(ctx.cancel.signal);
    if (x.direction !== undefined) {
      const d = ctx.directions.get(x.direction);
      if (!d) throw new Error(`export ${x.name}: run direction ${x.direction} first`);
      const model = ctx.config.directions[x.direction]?.model ?? '';
      const s = await ctx.session(model);
      readme.direction = { name: x.direction };
      if (x.directionFormats.includes('safetensors')) {
        writeDirectionsSafetensors(folder.path('direction.safetensors'), d.vectors, directionMetadata(x, d));
        written.push('direction.safetensors');
        readme.direction.safetensors = { file: 'direction.safetensors', layers: d.layers, positions: d.offsets };
      }
      if (x.directionFormats.includes('gguf')) {
        gguf = ggufLayers(ctx, x, d.layers);
        if (gguf.layers.length === 0) {
          throw new Error(
            `export ${x.name}: no layer to write to direction.gguf: ${gguf.layersFrom} ${gguf.leftOut.length > 1 ? 'are' : 'is'} only layer 0, which llama.cpp cannot steer; set \`layers\` to layers above 0`,
          );
        }
        if (gguf.leftOut.length > 0) {
          // Asked for explicitly (layers, or the tune's) it is worth a warning; every extracted layer includes 0 anyway.
          const level = gguf.layersFrom === EVERY_LAYER ? 'info' : 'warn';
          ctx.emit(
            {
              type: 'log',
              level,
              message: `export ${x.name}: layer 0 is left out of direction.gguf (${gguf.layersFrom} include it): llama.cpp cannot apply a control vector to block 0`,
            },
            folder,
          );
        }
        const vecs = vectorsAt(d, x.position, gguf.layers, `export ${x.name}: direction ${x.direction}`);
        writeGgufControlVector(folder.path('direction.gguf'), vecs, {
          architecture: llamaCppArchitecture(s.model.config),
          nLayers: s.model.config.nLayers,
          // The direction's provenance, then what this file holds: `layers` and `position` are the GGUF's own.
          metadata: { ...directionMetadata(x, d), position: String(x.position), layers: gguf.layers.join(',') },
        });
        written.push('direction.gguf');
        readme.direction.gguf = gguf;
      }
    }
    if (written.length > 0) {
      writeFileAtomic(folder.path('README.md'), exportReadme(readme));
      written.push('README.md');
    }
    const ggufResult = gguf ? { ...gguf, command: llamaCppCommand(gguf) } : undefined;
    const headline = `exported ${written.join(', ') || 'nothing'} to ${folder.dir}${gguf ? `; direction.gguf: ${controlVectorLayersNote(gguf)}` : ''}`;
    const summary = folder.finish('done', headline, {
      result: {
        written,
        ...(model ? { model: { mode: model.manifest.mode, files: model.files, config: model.manifest.config, tokenizer: model.manifest.tokenizer } } : {}),
        ...(ggufResult ? { gguf: ggufResult } : {}),
      },
      ...(ggufResult ? { detail: `llama.cpp: \`${ggufResult.command}\` (README.md says more)` } : {}),
    });
    writeFileAtomic(path.join(x.output, 'latest'), `${folder.id}\n`);
    return summary;
  });
}

const EVERY_LAYER = 'every extracted layer';

/**
 * What an exported direction says about itself: everything the direction section wrote into its run folder's
 * direction.safetensors (model, tokenizer hash, template, method, data and its sha256, N, ...), the layers and
 * offsets extracted, the direction's name and the export's tune, when it has one.
 */
function directionMetadata(x: ExportConfig, d: ExtractedDirection): Record<string, string> {
  return {
    ...d.metadata,
    direction: x.direction ?? '',
    layers: d.layers.join(','),
    offsets: d.offsets.join(','),
    ...(x.tune !== undefined ? { tune: x.tune } : {}),
  };
}

/** The layers of the GGUF control vector: the export's `layers` (by default its tune's), without layer 0. */
function ggufLayers(ctx: SectionContext, x: ExportConfig, extracted: readonly number[]): ControlVectorInfo {
  const tc = x.tune !== undefined ? ctx.config.tunes[x.tune] : undefined;
  const same = (a: LayerSelection, b: LayerSelection) => (a === 'all' ? b === 'all' : b !== 'all' && a.length === b.length && a.every((l, i) => l === b[i]));
  const layersFrom = tc && same(x.layers, tc.layers) ? `tune ${tc.name}'s layers` : x.layers === 'all' ? EVERY_LAYER : "the export's `layers`";
  const asked = [...new Set(x.layers === 'all' ? extracted : x.layers)].sort((a, b) => a - b);
  return { file: 'direction.gguf', position: x.position, layers: asked.filter((l) => l > 0), leftOut: asked.filter((l) => l <= 0), layersFrom };
}
