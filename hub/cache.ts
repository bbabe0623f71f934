/**
 * The Hugging Face cache on disk, laid out exactly as Python's huggingface_hub lays it out, so a model that
 * transformers downloaded is used as it is and what rtune downloads is visible to Python tools:
 *
 *   <cache>/models--Org--Name/refs/<revision>          the commit id the branch or tag named when last resolved
 *   <cache>/models--Org--Name/blobs/<etag>             file contents, named by the Hub's etag (sha256 for LFS files)
 *   <cache>/models--Org--Name/blobs/<etag>.incomplete  an interrupted download, resumed with an HTTP Range
 *   <cache>/models--Org--Name/snapshots/<commit>/<file> a relative symlink to ../../blobs/<etag>
 *
 * The cache root is `HF_HUB_CACHE`, else `HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub` or
 * `~/.cache/huggingface/hub`. Reading it needs Node built-ins only, so the language server uses this file too
 * (hover and diagnostics) without loading a network client. Non-goals: no network (download.ts), no eviction.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomicWith } from '../common/fs';
import { HubCacheStatus, isCommitHash, repoFolderName, SAFETENSORS_INDEX, shardsOfIndex } from '../model/hub-id';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** Where the cache is, which Hub to ask, with what token, and whether to ask at all. */
export interface HubSettings {
  readonly cacheDir: string;
  /** `HF_ENDPOINT`, without a trailing `/`. */
  readonly endpoint: string;
  /** `HF_TOKEN`, else the token file `huggingface-cli login` wrote (`HF_TOKEN_PATH` or `HF_HOME/token`). */
  readonly token: string | undefined;
  /** `HF_HUB_OFFLINE=1`: the cache only, no request. */
  readonly offline: boolean;
}

const truthy = (v: string | undefined): boolean => v !== undefined && ['1', 'on', 'yes', 'true'].includes(v.trim().toLowerCase());

/** The settings huggingface_hub reads from these environment variables. */
export function hubSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const home = env['HF_HOME'] ?? path.join(env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'huggingface');
  const cacheDir = env['HF_HUB_CACHE'] ?? env['HUGGINGFACE_HUB_CACHE'] ?? path.join(home, 'hub');
  let token = env['HF_TOKEN'] ?? env['HUGGING_FACE_HUB_TOKEN'];
  if (token === undefined || token === '') {
    try {
      token = fs.readFileSync(env['HF_TOKEN_PATH'] ?? path.join(home, 'token'), 'utf8').trim();
    } catch {
      token = undefined;
    }
  }
  return {
    cacheDir: path.resolve(cacheDir),
    endpoint: (env['HF_ENDPOINT'] ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    token: token === '' ? undefined : token,
    offline: truthy(env['HF_HUB_OFFLINE']),
  };
}

export function repoDirOf(cacheDir: string, repo: string): string {
  return path.join(cacheDir, repoFolderName(repo));
}

export function blobPath(repoDir: string, etag: string): string {
  return path.join(repoDir, 'blobs', etag);
}

export function snapshotDir(repoDir: string, commit: string): string {
  return path.join(repoDir, 'snapshots', commit);
}

/** The commit `refs/<revision>` holds (a commit revision is itself), or undefined. */
export function readRef(repoDir: string, revision: string): string | undefined {
  if (isCommitHash(revision)) return revision;
  try {
    const c = fs.readFileSync(path.join(repoDir, 'refs', ...revision.split('/')), 'utf8').trim();
    return isCommitHash(c) ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `refs/<revision>` = commit atomically (as huggingface_hub: the bare commit id, no newline). */
export function writeRef(repoDir: string, revision: string, commit: string): void {
  if (isCommitHash(revision)) return;
  const file = path.join(repoDir, 'refs', ...revision.split('/'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (readRef(repoDir, revision) === commit) return;
  writeFileAtomicWith(file, [Buffer.from(commit)], (m) => new Error(m));
}

/** Points `snapshots/<commit>/<file>` at `blobs/<etag>` with a relative symlink (a copy where links are refused). */
export function linkSnapshotFile(repoDir: string, commit: string, file: string, etag: string): void {
  const link = path.join(snapshotDir(repoDir, commit), ...file.split('/'));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const target = path.relative(path.dirname(link), blobPath(repoDir, etag));
  fs.rmSync(link, { force: true });
  try {
    fs.symlinkSync(target, link);
  } catch {
    fs.copyFileSync(blobPath(repoDir, etag), link);
  }
}

/** Size of the regular file at `p` (following links), or undefined. */
function fileSize(p: string): number | undefined {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  return st?.isFile() === true ? st.size : undefined;
}

/** The files of a snapshot folder (recursively), whose links resolve. */
function snapshotFiles(dir: string): { name: string; size: number }[] {
  const out: { name: string; size: number }[] = [];
  const walk = (sub: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(dir, sub), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = sub === '' ? e.name : `${sub}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else {
        const size = fileSize(path.join(dir, rel));
        if (size !== undefined) out.push({ name: rel, size });
      }
    }
  };
  walk('');
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What a run needs that a snapshot folder lacks: config.json and safetensors weights (every shard of an index). */
export function missingFromSnapshot(dir: string | undefined, have: ReadonlySet<string>): string[] {
  const missing: string[] = [];
  if (!have.has('config.json')) missing.push('config.json');
  if (have.has('model.safetensors')) return missing;
  if (have.has(SAFETENSORS_INDEX) && dir !== undefined) {
    try {
      const shards = shardsOfIndex(JSON.parse(fs.readFileSync(path.join(dir, SAFETENSORS_INDEX), 'utf8')));
      missing.push(...shards.filter((s) => !have.has(s)));
    } catch {
      missing.push(SAFETENSORS_INDEX);
    }
    return missing;
  }
  if (![...have].some((f) => !f.includes('/') && f.endsWith('.safetensors'))) missing.push('model.safetensors');
  return missing;
}

/** What the cache holds for `repo` at `revision`; reads a few small files, never the weights. */
export function lookupHubCache(settings: HubSettings, repo: string, revision: string): HubCacheStatus {
  const repoDir = repoDirOf(settings.cacheDir, repo);
  const commit = readRef(repoDir, revision);
  const dir = commit !== undefined ? snapshotDir(repoDir, commit) : undefined;
  const snapshot = dir !== undefined && fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true ? dir : undefined;
  const files = snapshot !== undefined ? snapshotFiles(snapshot) : [];
  const missing = missingFromSnapshot(snapshot, new Set(files.map((f) => f.name)));
  let partialBytes = 0;
  try {
    for (const n of fs.readdirSync(path.join(repoDir, 'blobs'))) if (n.endsWith('.incomplete')) partialBytes += fileSize(path.join(repoDir, 'blobs', n)) ?? 0;
  } catch {
    /* no blobs yet */
  }
  return {
    repo,
    revision,
    cacheDir: settings.cacheDir,
    repoDir,
    endpoint: settings.endpoint,
    offline: settings.offline,
    commit,
    snapshot,
    files,
    missing,
    complete: snapshot !== undefined && missing.length === 0,
    partialBytes,
  };
}

/** The cache lookup a language host injects (language/node-env.ts `hub`), with settings read once. */
export function hubCacheLookup(settings: HubSettings = hubSettingsFromEnv()): (repo: string, revision: string) => HubCacheStatus {
  return (repo, revision) => lookupHubCache(settings, repo, revision);
}
