/**
 * Hub models of a run (`path "hf:Org/Name"`) made present before anything is computed: each `hub` model source
 * that a chosen section uses is resolved to its snapshot folder in the Hugging Face cache (hub/download.ts
 * downloads what is missing, with progress events `download`, in kB), and the run's config and analysis are
 * rebuilt over that folder, so the checks before compute (job/preflight.ts) and the inputs hash (inputs.ts) see
 * the snapshot's files as they see a folder on disk. The source keeps repo, revision and the resolved commit,
 * which inputs.json and checkpoint.json record.
 */
import { hubSettingsFromEnv } from '../hub/cache';
import { ensureHubModel, HubError } from '../hub/download';
import { loadRunConfig } from '../language/analysis';
import type { ModelConfig, RunConfig, SectionRef } from '../protocol/contract';
import { HUB_PREFIX } from '../model/hub-id';
import type { RunOptions } from './context';
import { PreflightError } from './preflight';
import { formatDiagnostics } from '../language/report';

export { HubError };

/** Model sections the chosen sections run on (a search's or an export's through its tune). */
function modelsUsed(config: RunConfig, chosen: readonly SectionRef[]): Set<string> {
  const tables: Record<string, Record<string, unknown> | undefined> = {
    direction: config.directions,
    tune: config.tunes,
    search: config.searches,
    eval: config.evals,
    export: config.exports,
  };
  const out = new Set<string>();
  for (const r of chosen) {
    const c = tables[r.kind]?.[r.name] as { model?: string; tune?: string } | undefined;
    const m = c?.model ?? (c?.tune !== undefined ? config.tunes[c.tune]?.model : undefined);
    if (m !== undefined) out.add(m);
  }
  return out;
}

/**
 * Resolves every Hub model the chosen sections use to its snapshot folder (downloading what the cache lacks)
 * and returns the run's config and options over those folders. Throws a HubError (access refused, not found,
 * offline and not cached, a corrupt download) or a PreflightError (the downloaded model contradicts the file).
 */
export async function prepareHubModels(config: RunConfig, chosen: readonly SectionRef[], opts: RunOptions): Promise<{ config: RunConfig; opts: RunOptions }> {
  const used = modelsUsed(config, chosen);
  const hubModels = Object.values(config.models).filter((m) => m.source.kind === 'hub' && used.has(m.name));
  if (hubModels.length === 0) return { config, opts };
  const settings = opts.hub ?? hubSettingsFromEnv();
  const models: Record<string, ModelConfig> = { ...config.models };
  let fetched = false;
  for (const m of hubModels) {
    if (m.source.kind !== 'hub') continue;
    const { repo, revision } = m.source;
    let last = 0;
    const got = await ensureHubModel(repo, revision, {
      settings,
      ...(opts.hubFetch ? { fetch: opts.hubFetch } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onLog: (message) => opts.emit?.({ type: 'log', level: 'info', message }),
      onProgress: (p) => {
        const now = Date.now();
        if (p.done < p.total && now - last < 100) return;
        last = now;
        opts.emit?.({ type: 'progress', job: 'download', done: Math.floor(p.done / 1000), total: Math.ceil(p.total / 1000), unit: 'kB', message: p.file });
      },
    });
    if (got.downloaded.length > 0 || m.source.path !== got.snapshot) fetched = true;
    const how = got.downloaded.length > 0 ? `downloaded ${got.downloaded.length} files (${(got.bytes / 1e6).toFixed(2)} MB)` : 'cached';
    opts.emit?.({
      type: 'log',
      level: 'info',
      message: `model ${m.name}: ${HUB_PREFIX}${repo} at ${revision} = commit ${got.commit} (${how}), ${got.snapshot}`,
    });
    models[m.name] = { ...m, source: { kind: 'hub', repo, revision, commit: got.commit, path: got.snapshot } };
  }
  const source = opts.source;
  if (!fetched || source === undefined) return { config: { ...config, models }, opts };
  // The model is on disk now: analyse the file again so its model checks and the checks before compute see it.
  const again = loadRunConfig(source.text, source.analysis.options);
  if ('errors' in again) {
    const file = opts.file ?? 'the .rtune file';
    throw new PreflightError(
      `${file}: ${again.errors.length === 1 ? 'a problem' : `${again.errors.length} problems`} found once the Hub model was downloaded (nothing was computed); fix and run again:\n${formatDiagnostics(file, source.text, again.errors).trimEnd()}`,
      again.errors,
    );
  }
  const merged: Record<string, ModelConfig> = { ...again.config.models };
  for (const [name, m] of Object.entries(models)) if (m.source.kind === 'hub' && m.source.path !== '') merged[name] = m;
  return { config: { ...again.config, models: merged }, opts: { ...opts, source: { text: source.text, analysis: again.analysis } } };
}
