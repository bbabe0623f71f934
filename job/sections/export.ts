/**
 * `export` sections: the tuned model as Hugging Face safetensors (full or only what changed), the direction as
 * safetensors with its metadata and as a llama.cpp control vector (the vectors at the export's `position`, for its
 * `layers` — by default the tune's — never layer 0, which llama.cpp cannot steer), and a README.md that says what
 * was written and gives the llama.cpp command line. Every export goes to a new timestamped folder under the named
 * output (never over an earlier export), and `<output>/latest` names the newest finished one.
 */
import * as fs from 'node:fs';
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
} from '../../engine/export';
import { vectorsAt } from '../../engine/method/direction-set';
import { throwIfCancelled } from '../../engine/util/cancel';
import { loadModel } from '../../engine/model/load';
import { withWeights } from '../../engine/model/weights';
import type { ExportConfig, LayerSelection } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import type { SectionContext } from '../context';

export async function runExport(ctx: SectionContext, x: ExportConfig): Promise<RunSummary> {
  const folder = ctx.openFolder(x.output, x.name, 'export', x, { stamp: true });
  return ctx.guarded(folder, 'export', async () => {
    const written: string[] = [];
    const tuned = x.tune !== undefined ? ctx.tuned.get(x.tune) : undefined;
    if (x.tune !== undefined && x.weights !== 'none') {
      if (!tuned) throw new Error(`export ${x.name}: run tune ${x.tune} first`);
      const s = await ctx.session(tuned.model);
      const srcPath = ctx.config.models[tuned.model]?.source.path ?? '';
      const tokDir = fs.statSync(srcPath).isDirectory() ? srcPath : undefined;
      const base = x.weights === 'changed' ? loadModel(srcPath) : undefined;
      try {
        await withWeights(s.model, tuned.weights, () =>
          exportHfModel(s.model, tokDir, folder.path('model'), {
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
    }
    const readme: ExportReadme = { name: x.name, ...(written.includes('model/') ? { model: 'model' } : {}) };
    let gguf: ControlVectorInfo | undefined;
    throwIfCancelled(ctx.cancel.signal);
    if (x.direction !== undefined) {
      const d = ctx.directions.get(x.direction);
      if (!d) throw new Error(`export ${x.name}: run direction ${x.direction} first`);
      const model = ctx.config.directions[x.direction]?.model ?? '';
      const s = await ctx.session(model);
      readme.direction = { name: x.direction };
      if (x.directionFormats.includes('safetensors')) {
        writeDirectionsSafetensors(folder.path('direction.safetensors'), d.vectors, {
          ...d.metadata,
          offsets: d.offsets.join(','),
          layers: d.layers.join(','),
        });
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
          metadata: { direction: x.direction, position: String(x.position), layers: gguf.layers.join(','), ...(x.tune !== undefined ? { tune: x.tune } : {}) },
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
      result: { written, ...(ggufResult ? { gguf: ggufResult } : {}) },
      ...(ggufResult ? { detail: `llama.cpp: \`${ggufResult.command}\` (README.md says more)` } : {}),
    });
    writeFileAtomic(path.join(x.output, 'latest'), `${folder.id}\n`);
    return summary;
  });
}

const EVERY_LAYER = 'every extracted layer';

/** The layers of the GGUF control vector: the export's `layers` (by default its tune's), without layer 0. */
function ggufLayers(ctx: SectionContext, x: ExportConfig, extracted: readonly number[]): ControlVectorInfo {
  const tc = x.tune !== undefined ? ctx.config.tunes[x.tune] : undefined;
  const same = (a: LayerSelection, b: LayerSelection) => (a === 'all' ? b === 'all' : b !== 'all' && a.length === b.length && a.every((l, i) => l === b[i]));
  const layersFrom = tc && same(x.layers, tc.layers) ? `tune ${tc.name}'s layers` : x.layers === 'all' ? EVERY_LAYER : "the export's `layers`";
  const asked = [...new Set(x.layers === 'all' ? extracted : x.layers)].sort((a, b) => a - b);
  return { file: 'direction.gguf', position: x.position, layers: asked.filter((l) => l > 0), leftOut: asked.filter((l) => l <= 0), layersFrom };
}
