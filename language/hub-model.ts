/**
 * A model section whose path is a Hub id (`path "hf:Org/Name"`, `revision "…"`): the id and revision checked by
 * the Hub's rules (model/hub-id.ts), and the cache looked up through the host (`LanguageEnv.hub`, which reads the
 * local Hugging Face cache and never the network). A complete snapshot is the model's folder, so every model
 * check and hover works as for a folder on disk; otherwise an information diagnostic says a run will download it
 * (a warning when `HF_HUB_OFFLINE` is set and the run would fail). Non-goals: no network, no download.
 */
import { DEFAULT_REVISION, HUB_PREFIX, isCommitHash, parseHubId, revisionProblem, type HubCacheStatus } from '../model/hub-id';
import type { BlockValues } from './block-values';
import type { LanguageOptions } from './env';
import { span, type Diagnostic } from './text';

export interface ResolvedHub {
  readonly repo: string;
  readonly revision: string;
  /** What the cache holds; undefined without a host that can look. */
  readonly status: HubCacheStatus | undefined;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 0)} MB`;

/** Resolves a `hf:` path: the Hub id, its revision, and the snapshot folder when the cache has all of it. */
export function resolveHubPath(
  raw: string,
  values: BlockValues,
  options: LanguageOptions,
  sink: (d: Diagnostic) => void,
): { hub: ResolvedHub | undefined; path: string | undefined } {
  const written = values.written('path');
  const where = written?.entry.value !== undefined ? span(written.entry.value.start, written.entry.value.end) : undefined;
  const parsed = parseHubId(raw);
  if (!parsed.ok) {
    if (where !== undefined) sink({ code: 'model', severity: 'error', span: where, message: parsed.reason });
    return { hub: undefined, path: undefined };
  }
  const revision = values.has('revision') ? (values.str('revision') ?? DEFAULT_REVISION) : DEFAULT_REVISION;
  const bad = revisionProblem(revision);
  if (bad !== undefined) {
    const r = values.written('revision')?.entry.value;
    if (r !== undefined) sink({ code: 'model', severity: 'error', span: span(r.start, r.end), message: `revision: ${bad}` });
    return { hub: undefined, path: undefined };
  }
  const repo = parsed.id.repo;
  const status = options.env?.hub?.(repo, revision);
  const hub = { repo, revision, status };
  if (status === undefined) return { hub, path: undefined };
  if (status.complete && status.snapshot !== undefined) return { hub, path: status.snapshot };
  if (where !== undefined) {
    const what =
      status.commit === undefined
        ? `not in the cache (${status.repoDir} has no ${isCommitHash(revision) ? `snapshot ${revision}` : `refs/${revision}`})`
        : `incomplete in the cache (snapshot ${status.commit.slice(0, 12)} lacks ${status.missing.join(', ')})`;
    const partial = status.partialBytes > 0 ? `; ${mb(status.partialBytes)} of an interrupted download will be resumed` : '';
    sink(
      status.offline
        ? {
            code: 'model',
            severity: 'warning',
            span: where,
            message: `${HUB_PREFIX}${repo} at \`${revision}\` is ${what} and HF_HUB_OFFLINE is set: a run fails here. Unset HF_HUB_OFFLINE to let a run download it.`,
          }
        : {
            code: 'model',
            severity: 'info',
            span: where,
            message: `${HUB_PREFIX}${repo} at \`${revision}\` is ${what}: a run downloads its config, safetensors weights and tokenizer from ${status.endpoint}${partial}. Model checks (layers, blocks) start once it is cached.`,
          },
    );
  }
  return { hub, path: undefined };
}

/** Hover text of a Hub model path: what it resolves to in the cache, or what a run would fetch. */
export function hubMarkdown(hub: ResolvedHub): string {
  const id = `\`${HUB_PREFIX}${hub.repo}\` at \`${hub.revision}\``;
  const s = hub.status;
  if (s === undefined) return `${id}: a Hugging Face Hub model (the cache cannot be looked at here).`;
  const files = s.files.map((f) => `\`${f.name}\` ${mb(f.size)}`).join(', ');
  const total = s.files.reduce((n, f) => n + f.size, 0);
  if (s.complete && s.commit !== undefined)
    return `${id}: cached, commit \`${s.commit}\`, ${s.files.length} files, ${mb(total)}: ${files}\n\n\`${s.snapshot ?? s.repoDir}\``;
  const head = s.commit === undefined ? 'not cached' : `partly cached at commit \`${s.commit}\` (missing ${s.missing.join(', ')})`;
  const partial = s.partialBytes > 0 ? ` ${mb(s.partialBytes)} of an interrupted download are in \`blobs/\` and will be resumed.` : '';
  const how = s.offline
    ? ' HF_HUB_OFFLINE is set: a run fails until it is cached.'
    : ` A run downloads config, safetensors weights and tokenizer files from ${s.endpoint}; the editor does not ask the Hub, so their size is known only then.`;
  return `${id}: ${head} in \`${s.cacheDir}\`.${partial}${how}${files !== '' ? `\n\nCached so far: ${files}` : ''}`;
}
