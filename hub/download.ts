/**
 * Makes a Hub model's files present in the cache (cache.ts) and returns its snapshot folder. What it asks the
 * Hub goes through `@huggingface/hub`: `modelInfo` (the commit a revision names and the repo's file list),
 * `pathsInfo` (each file's etag as huggingface_hub names blobs: the LFS sha256, else the git blob sha1, and its
 * size), `fileDownloadInfo` (the download URL, redirects followed) and `downloadFile` (a Blob
 * whose `slice(offset).stream()` sends the HTTP Range that resumes a `.incomplete` file). Its own
 * `downloadFileToCacheDir` is not used: it neither resumes nor reports progress nor checks what it wrote, and
 * writes no `refs/<revision>`. Each blob is checked before it is renamed into place: sha256 for LFS files (their
 * etag), the git blob sha1 for small files, the size otherwise.
 *
 * Only the files rtune reads are fetched (model/hub-id.ts `hubFilesToFetch`). A branch or tag whose ref and
 * snapshot are complete in the cache is used with no request at all; `HF_HUB_OFFLINE=1` never asks.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { downloadFile, fileDownloadInfo, HubApiError, modelInfo, pathsInfo } from '@huggingface/hub';
import { HUB_PREFIX, hubFilesToFetch, isCommitHash, SAFETENSORS_INDEX, shardsOfIndex } from '../model/hub-id';
import { blobPath, linkSnapshotFile, lookupHubCache, readRef, repoDirOf, snapshotDir, writeRef, type HubSettings } from './cache';

/** A Hub model that cannot be made available: refused access, not found, offline and not cached, a bad download. */
export class HubError extends Error {
  constructor(
    message: string,
    readonly reason: 'access' | 'not-found' | 'offline' | 'integrity' | 'network' | 'unsupported',
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export interface HubProgress {
  /** The file being transferred, and bytes of all files to fetch in this call. */
  readonly file: string;
  readonly done: number;
  readonly total: number;
}

export interface EnsureOptions {
  readonly settings: HubSettings;
  /** The fetch to use (tests count requests); default the global one. */
  readonly fetch?: typeof fetch;
  readonly onProgress?: (p: HubProgress) => void;
  readonly onLog?: (message: string) => void;
  readonly signal?: AbortSignal;
}

export interface EnsuredModel {
  readonly snapshot: string;
  readonly commit: string;
  /** Files transferred in this call (empty: a cache hit). */
  readonly downloaded: readonly string[];
  readonly bytes: number;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 0)} MB`;

function describeHubFailure(e: unknown, repo: string, revision: string, settings: HubSettings, what: string): HubError {
  const id = `${HUB_PREFIX}${repo}`;
  if (e instanceof HubApiError) {
    if (e.statusCode === 401 || e.statusCode === 403)
      return new HubError(
        `model ${id}: the Hub at ${settings.endpoint} refused access to ${what} (HTTP ${e.statusCode}). ` +
          (settings.token === undefined
            ? 'It is gated or private: accept its terms on the model page, then set HF_TOKEN to an access token (or run `huggingface-cli login`).'
            : 'The token in HF_TOKEN has no access to it: accept its terms on the model page, or use a token of an account that has access.'),
        'access',
      );
    if (e.statusCode === 404)
      return new HubError(
        `model ${id}: ${what} was not found on ${settings.endpoint} (HTTP 404) at revision \`${revision}\`; check the id and the revision (a branch, tag or 40-hex commit)`,
        'not-found',
      );
    return new HubError(`model ${id}: the Hub at ${settings.endpoint} answered HTTP ${e.statusCode} for ${what}: ${e.message}`, 'network');
  }
  if (e instanceof HubError) return e;
  const cause = (e as { cause?: { message?: string } })?.cause?.message;
  return new HubError(
    `model ${id}: cannot reach ${settings.endpoint} for ${what} (${e instanceof Error ? e.message : String(e)}${cause ? `: ${cause}` : ''}); check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache only`,
    'network',
  );
}

/** The checksum an etag stands for: sha256 (LFS), a git blob sha1 (regular files), or none (other etags). */
function checksumFor(etag: string, size: number): { hash: Hash; expect: string; name: string } | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return { hash: createHash('sha256'), expect: etag, name: 'sha256' };
  if (/^[0-9a-f]{40}$/.test(etag)) {
    const h = createHash('sha1');
    h.update(`blob ${size}\0`);
    return { hash: h, expect: etag, name: 'git sha1' };
  }
  return undefined;
}

/** Feeds the bytes already in `file` to `hash`. */
function hashPrefix(file: string, hash: Hash): void {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

interface FileInfo {
  readonly file: string;
  readonly etag: string;
  readonly size: number;
  info: Awaited<ReturnType<typeof fileDownloadInfo>>;
}

/**
 * Makes every file rtune reads of `repo` at `revision` present in the cache and returns its snapshot. Throws a
 * HubError naming the model and what to do when that cannot be done.
 */
export async function ensureHubModel(repo: string, revision: string, opts: EnsureOptions): Promise<EnsuredModel> {
  const { settings } = opts;
  const id = `${HUB_PREFIX}${repo}`;
  const cached = lookupHubCache(settings, repo, revision);
  if (cached.complete && cached.snapshot !== undefined && cached.commit !== undefined)
    return { snapshot: cached.snapshot, commit: cached.commit, downloaded: [], bytes: 0 };
  if (settings.offline) {
    const where =
      cached.commit === undefined
        ? `no ${isCommitHash(revision) ? 'snapshot' : `refs/${revision}`} in ${cached.repoDir}`
        : `${cached.snapshot ?? snapshotDir(cached.repoDir, cached.commit)} lacks ${cached.missing.join(', ')}`;
    throw new HubError(
      `model ${id} (revision \`${revision}\`) is not in the cache and HF_HUB_OFFLINE is set: ${where}. Run once online (unset HF_HUB_OFFLINE) to download it, or point HF_HUB_CACHE at a cache that has it.`,
      'offline',
    );
  }
  const common = {
    hubUrl: settings.endpoint,
    ...(settings.token !== undefined ? { accessToken: settings.token } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  };
  let commit: string;
  let siblings: readonly string[];
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ['sha', 'filePaths'], ...common });
    commit = (info as { sha?: string }).sha ?? '';
    siblings = (info as { filePaths?: string[] }).filePaths ?? [];
  } catch (e) {
    throw describeHubFailure(e, repo, revision, settings, 'its model info');
  }
  if (!isCommitHash(commit))
    throw new HubError(`model ${id}: the Hub's model info at ${settings.endpoint} names no commit for revision \`${revision}\``, 'network');
  const wanted = hubFilesToFetch(siblings);
  if (wanted === undefined)
    throw new HubError(
      `model ${id} has no safetensors weights (its files: ${siblings.slice(0, 12).join(', ')}${siblings.length > 12 ? ', …' : ''}); rtune reads model.safetensors or its shards`,
      'unsupported',
    );
  const repoDir = repoDirOf(settings.cacheDir, repo);
  const snap = snapshotDir(repoDir, commit);
  const downloaded: string[] = [];
  let bytes = 0;
  const fetchAll = async (files: readonly string[]): Promise<void> => {
    const todo = files.filter((f) => fs.statSync(path.join(snap, f), { throwIfNoEntry: false })?.isFile() !== true);
    if (todo.length === 0) return;
    // The etag huggingface_hub names blobs by: the LFS sha256, else the git blob sha1 (paths-info, one request).
    let listed: Awaited<ReturnType<typeof pathsInfo>>;
    try {
      listed = await pathsInfo({ repo, paths: [...todo], revision: commit, expand: false, ...common });
    } catch (e) {
      throw describeHubFailure(e, repo, revision, settings, todo[0] ?? 'its files');
    }
    const infos: FileInfo[] = [];
    for (const file of todo) {
      const p = listed.find((x) => x.path === file);
      const etag = p?.lfs?.oid ?? p?.oid;
      if (p === undefined || etag === undefined)
        throw new HubError(`model ${id}: ${file} is listed by the Hub but has no file info at commit ${commit}`, 'not-found');
      infos.push({ file, etag, size: p.lfs?.size ?? p.size, info: null });
    }
    const need = infos.filter((f) => !fs.existsSync(blobPath(repoDir, f.etag)));
    const total = need.reduce((s, f) => s + f.size, 0);
    if (need.length > 0)
      opts.onLog?.(`model ${id}: downloading ${need.length} file${need.length === 1 ? '' : 's'}, ${mb(total)}, from ${settings.endpoint} into ${repoDir}`);
    let before = 0;
    for (const f of infos) {
      if (need.includes(f)) {
        // Where to get it (redirects followed) and its size, asked only for blobs the cache lacks.
        let info: FileInfo['info'];
        try {
          info = await fileDownloadInfo({ repo, path: f.file, revision: commit, ...common });
        } catch (e) {
          throw describeHubFailure(e, repo, revision, settings, f.file);
        }
        if (info === null) throw new HubError(`model ${id}: ${f.file} is listed by the Hub but cannot be downloaded at commit ${commit}`, 'not-found');
        if (info.size !== f.size)
          throw new HubError(
            `model ${id}: the Hub reports ${info.size} bytes for ${f.file} at download and ${f.size} in its file info; run again later`,
            'integrity',
          );
        f.info = info;
        await fetchBlob(repo, revision, f, repoDir, { ...opts, common }, (done) => opts.onProgress?.({ file: f.file, done: before + done, total }));
        before += f.size;
        bytes += f.size;
        downloaded.push(f.file);
      }
      linkSnapshotFile(repoDir, commit, f.file, f.etag);
    }
  };
  await fetchAll(wanted.files);
  if (wanted.index) {
    let shards: string[];
    try {
      shards = shardsOfIndex(JSON.parse(fs.readFileSync(path.join(snap, SAFETENSORS_INDEX), 'utf8')));
    } catch (e) {
      throw new HubError(`model ${id}: ${path.join(snap, SAFETENSORS_INDEX)}: ${e instanceof Error ? e.message : String(e)}`, 'unsupported');
    }
    await fetchAll(shards);
  }
  writeRef(repoDir, revision, commit);
  if (readRef(repoDir, revision) !== commit) throw new HubError(`model ${id}: could not record refs/${revision} in ${repoDir}`, 'network');
  return { snapshot: snap, commit, downloaded, bytes };
}

/** Downloads one blob into `blobs/<etag>.incomplete` (resuming what is there), checks it, and renames it into place. */
async function fetchBlob(
  repo: string,
  revision: string,
  f: FileInfo,
  repoDir: string,
  opts: EnsureOptions & { common: { hubUrl: string; accessToken?: string; fetch?: typeof fetch } },
  progress: (done: number) => void,
  retried = false,
): Promise<void> {
  const id = `${HUB_PREFIX}${repo}`;
  const final = blobPath(repoDir, f.etag);
  const partial = `${final}.incomplete`;
  fs.mkdirSync(path.dirname(final), { recursive: true });
  let have = fs.statSync(partial, { throwIfNoEntry: false })?.size ?? 0;
  if (have > f.size) {
    fs.rmSync(partial, { force: true });
    have = 0;
  }
  const check = checksumFor(f.etag, f.size);
  if (have > 0) {
    opts.onLog?.(`model ${id}: resuming ${f.file} at ${mb(have)} of ${mb(f.size)}`);
    if (check) hashPrefix(partial, check.hash);
  }
  progress(have);
  if (have < f.size) {
    let blob: Blob | null;
    try {
      blob = await downloadFile({ repo, path: f.file, revision, ...(f.info ? { downloadInfo: f.info } : {}), xet: true, ...opts.common });
    } catch (e) {
      throw describeHubFailure(e, repo, revision, opts.settings, f.file);
    }
    if (blob === null) throw new HubError(`model ${id}: ${f.file} is not on the Hub at ${opts.settings.endpoint}`, 'not-found');
    const out = fs.createWriteStream(partial, { flags: 'a' });
    const opened = new Promise<void>((resolve, reject) => out.once('open', () => resolve()).once('error', reject));
    await opened;
    let done = have;
    try {
      const reader = (have > 0 ? blob.slice(have) : blob).stream().getReader();
      for (;;) {
        if (opts.signal?.aborted) throw new HubError(`model ${id}: download of ${f.file} cancelled; run again to resume it`, 'network');
        const { done: end, value } = await reader.read();
        if (end) break;
        check?.hash.update(value);
        done += value.length;
        if (!out.write(value)) await new Promise<void>((r) => out.once('drain', () => r()));
        progress(done);
      }
    } catch (e) {
      await new Promise<void>((r) => out.end(() => r()));
      if (e instanceof HubError) throw e;
      throw new HubError(
        `model ${id}: the download of ${f.file} stopped at ${mb(done)} of ${mb(f.size)} (${e instanceof Error ? e.message : String(e)}); run again to resume it from ${partial}`,
        'network',
      );
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  const size = fs.statSync(partial).size;
  const got = check?.hash.digest('hex');
  if (size !== f.size || (check !== undefined && got !== check.expect)) {
    fs.rmSync(partial, { force: true });
    // A resumed file whose first part was damaged: once more from the start.
    if (have > 0 && !retried) {
      opts.onLog?.(`model ${id}: ${f.file} did not match its checksum after resuming; downloading it again from the start`);
      return fetchBlob(repo, revision, f, repoDir, opts, progress, true);
    }
    throw new HubError(
      `model ${id}: ${f.file} from ${opts.settings.endpoint} is corrupt: ${size !== f.size ? `${size} bytes, expected ${f.size}` : `${check?.name} ${got}, expected ${check?.expect} (the Hub's etag)`}; the partial file was removed, run again to download it afresh (if it recurs, a proxy or HF_ENDPOINT mirror serves a bad copy)`,
      'integrity',
    );
  }
  const fd = fs.openSync(partial, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(partial, final);
}
