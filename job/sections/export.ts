/**
 * `export` sections: the tuned model as Hugging Face safetensors (full or only what changed), the direction as
 * safetensors with its metadata and as a llama.cpp control vector. Every export goes to a new timestamped folder
 * under the named output (never over an earlier export), and `<output>/latest` names the newest finished one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportHfModel, llamaCppArchitecture, writeDirectionsSafetensors, writeFileAtomic, writeGgufControlVector } from '../../engine/export';
import { vectorsAt } from '../../engine/method/direction-set';
import { loadModel } from '../../engine/model/load';
import { withWeights } from '../../engine/model/weights';
import type { ExportConfig } from '../../protocol/contract';
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
            mode: x.weights === 'changed' ? 'changed' : 'full', dtype: x.dtype.toUpperCase() as Uppercase<typeof x.dtype>,
            ...(base ? { base: { model: base, path: srcPath } } : {}),
          }),
        );
      } finally {
        base?.dispose();
      }
      written.push('model/');
    }
    if (x.direction !== undefined) {
      const d = ctx.directions.get(x.direction);
      if (!d) throw new Error(`export ${x.name}: run direction ${x.direction} first`);
      const model = ctx.config.directions[x.direction]?.model ?? '';
      const s = await ctx.session(model);
      if (x.directionFormats.includes('safetensors')) {
        writeDirectionsSafetensors(folder.path('direction.safetensors'), d.vectors, { ...d.metadata, offsets: d.offsets.join(','), layers: d.layers.join(',') });
        written.push('direction.safetensors');
      }
      if (x.directionFormats.includes('gguf')) {
        // The tuned run's (first) position, else the direction's first. llama.cpp cannot steer block 0.
        const position = tuned?.positions[0] ?? (d.offsets[0] as number);
        const vecs = vectorsAt(d, position, d.layers.filter((l) => l > 0), `export ${x.name}: direction ${x.direction}`);
        writeGgufControlVector(folder.path('direction.gguf'), vecs, { architecture: llamaCppArchitecture(s.model.config) });
        written.push('direction.gguf');
      }
    }
    const summary = folder.finish('done', `exported ${written.join(', ') || 'nothing'} to ${folder.dir}`);
    writeFileAtomic(path.join(x.output, 'latest'), `${folder.id}\n`);
    return summary;
  });
}
