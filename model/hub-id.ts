/**
 * Hugging Face Hub model ids as a `.rtune` file writes them (`path "hf:Org/Name"`), pure: parsing and the Hub's
 * repo-id rules (as huggingface_hub's `validate_repo_id`: an optional namespace and a name of letters, digits,
 * `-`, `_` and `.`, at most 96 characters each, no `--` or `..`, not ending in `.git`), revisions (a branch, a
 * tag or a 40-hex commit), the cache folder name (`models--Org--Name`), and which files of a repo rtune reads.
 * Shared by the language (hover, diagnostics), the cache code (hub/) and the job. Non-goals: no I/O.
 */

/** The prefix that marks a model path as a Hub id. */
export const HUB_PREFIX = 'hf:';
export const DEFAULT_REVISION = 'main';

export interface HubId {
  /** `Org/Name` (or a legacy `Name` without a namespace). */
  readonly repo: string;
}

export type HubIdResult = { readonly ok: true; readonly id: HubId } | { readonly ok: false; readonly reason: string };

export function isHubPath(raw: string): boolean {
  return raw.startsWith(HUB_PREFIX);
}

const PART = /^[A-Za-z0-9_.-]{1,96}$/;

/** Parses `hf:Org/Name`; the reason says what is wrong and what a valid id looks like. */
export function parseHubId(raw: string): HubIdResult {
  const repo = raw.startsWith(HUB_PREFIX) ? raw.slice(HUB_PREFIX.length) : raw;
  const bad = (why: string): HubIdResult => ({
    ok: false,
    reason: `\`${raw}\` is not a Hub model id: ${why}; write it as \`hf:Org/Name\`, e.g. \`hf:sshleifer/tiny-gpt2\``,
  });
  if (repo === '') return bad('the id is empty');
  const parts = repo.split('/');
  if (parts.length > 2) return bad('it has more than one `/`');
  for (const p of parts) {
    if (!PART.test(p)) return bad(`\`${p}\` may hold only letters, digits, \`-\`, \`_\` and \`.\` (1 to 96 of them)`);
    if (/^[-.]|[-.]$/.test(p)) return bad(`\`${p}\` may not start or end with \`-\` or \`.\``);
  }
  if (repo.includes('--') || repo.includes('..')) return bad('`--` and `..` are not allowed');
  if (repo.endsWith('.git')) return bad('it may not end in `.git`');
  return { ok: true, id: { repo } };
}

/** A 40-hex commit id (then the cache is looked up by commit, with no ref). */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** Undefined when `revision` is a usable branch, tag or commit; otherwise why not. */
export function revisionProblem(revision: string): string | undefined {
  if (revision === '') return 'the revision is empty';
  if (/[\s~^:?*[\\]/.test(revision) || revision.includes('..') || revision.startsWith('/') || revision.endsWith('/'))
    return `\`${revision}\` is not a branch, tag or commit name (no spaces, \`..\`, \`~^:?*[\\\`, or leading/trailing \`/\`)`;
  return undefined;
}

/** The repo's folder in the cache, as huggingface_hub names it: `models--Org--Name`. */
export function repoFolderName(repo: string): string {
  return ['models', ...repo.split('/')].join('--');
}

/** Files a model folder may hold that rtune reads: config, generation config and tokenizer files (weights apart). */
export const HUB_META_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
] as const;

export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/**
 * Which of a repo's files (`siblings`) rtune downloads, weights apart from the shard list: the meta files it has,
 * `model.safetensors`, or the index (whose shards come from its weight map, `shardsOfIndex`), or else every
 * top-level `*.safetensors`. Undefined weights: the repo has no safetensors weights rtune can read.
 */
export function hubFilesToFetch(siblings: readonly string[]): { readonly files: readonly string[]; readonly index: boolean } | undefined {
  const have = new Set(siblings);
  const meta = HUB_META_FILES.filter((f) => have.has(f));
  if (have.has('model.safetensors')) return { files: [...meta, 'model.safetensors'], index: false };
  if (have.has(SAFETENSORS_INDEX)) return { files: [...meta, SAFETENSORS_INDEX], index: true };
  const top = siblings.filter((f) => !f.includes('/') && f.endsWith('.safetensors')).sort();
  if (top.length > 0) return { files: [...meta, ...top], index: false };
  return undefined;
}

/** The shard files a `model.safetensors.index.json` names (its weight map's values), sorted, unique. */
export function shardsOfIndex(indexJson: unknown): string[] {
  const map = (indexJson as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object') throw new Error(`${SAFETENSORS_INDEX} has no "weight_map" object`);
  const files = new Set<string>();
  for (const v of Object.values(map as Record<string, unknown>)) {
    if (typeof v !== 'string' || v.includes('..') || v.startsWith('/')) throw new Error(`${SAFETENSORS_INDEX}: bad shard name ${JSON.stringify(v)}`);
    files.add(v);
  }
  return [...files].sort();
}

/** What the local cache holds for a Hub id at a revision (hub/cache.ts reads it; the language server shows it). */
export interface HubCacheStatus {
  readonly repo: string;
  readonly revision: string;
  /** The cache root (`HF_HUB_CACHE`, `HF_HOME/hub` or `~/.cache/huggingface/hub`). */
  readonly cacheDir: string;
  /** `<cacheDir>/models--Org--Name`. */
  readonly repoDir: string;
  readonly endpoint: string;
  readonly offline: boolean;
  /** The commit the revision names here: the revision itself when it is a commit, else `refs/<revision>`. */
  readonly commit: string | undefined;
  /** `snapshots/<commit>` when that folder exists. */
  readonly snapshot: string | undefined;
  /** Files the snapshot holds (links that resolve), with their sizes. */
  readonly files: readonly { readonly name: string; readonly size: number }[];
  /** What a run needs that the snapshot lacks (`config.json`, weights, shards named by the index). */
  readonly missing: readonly string[];
  /** config.json and every safetensors file are there: a run needs no network. */
  readonly complete: boolean;
  /** Bytes of interrupted downloads (`blobs/*.incomplete`) a run would resume. */
  readonly partialBytes: number;
}
