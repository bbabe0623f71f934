/**
 * A loopback HTTP server that speaks enough of the Hugging Face Hub's API for the cache and download tests:
 * model info (`/api/models/<id>` and `/api/models/<id>/revision/<rev>`, with `sha` and `siblings`), paths info
 * (`POST /api/models/<id>/paths-info/<rev>`: each file's git oid, size and LFS sha256),
 * `/<id>/resolve/<rev>/<file>` (LFS files: a 302 to an LFS-like path `/lfs/<sha256>` with `X-Repo-Commit`,
 * `X-Linked-Etag` and `X-Linked-Size`; other files: 200 with the git blob sha1 as `ETag`), `Range` → 206,
 * 401/403 for a gated model without the right token, 404 for an unknown repo, revision or file. Faults are
 * switched on per test: drop the connection after N bytes of a file, or serve it with one byte flipped. Every
 * request is logged. It serves the tiny GPT-2 fixture (../shared/data/hf-tiny-gpt2-random) as
 * `sshleifer/tiny-gpt2` at `main` and, with different weights, at tag `v2`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface Commit {
  readonly sha: string;
  readonly files: ReadonlyMap<string, Buffer>;
}
export interface Repo {
  readonly refs: Record<string, string>;
  readonly commits: ReadonlyMap<string, Commit>;
  /** A token (`Bearer …`) that may read it; any other gets 403, none 401. */
  readonly gatedToken?: string;
}
export interface Logged {
  readonly method: string;
  readonly url: string;
  readonly range: string | undefined;
  readonly auth: string | undefined;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const isLfs = (name: string): boolean => name.endsWith('.safetensors') || name.endsWith('.bin') || name.endsWith('.msgpack');
export const commitId = (seed: string): string => createHash('sha1').update(seed).digest('hex');

/** The tiny GPT-2 fixture's files, plus files rtune must not download (README.md, pytorch_model.bin, flax weights). */
export function tinyGpt2Files(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const n of fs.readdirSync(dir).sort()) if (n !== 'PROVENANCE.md') files.set(n, fs.readFileSync(path.join(dir, n)));
  files.set('README.md', Buffer.from('# tiny-gpt2\n'));
  files.set('pytorch_model.bin', Buffer.alloc(4096, 7));
  files.set('flax_model.msgpack', Buffer.alloc(2048, 3));
  return files;
}

/** A copy of a safetensors file with every value of `tensor` (F32) set to `value`. */
export function withTensorValue(st: Buffer, tensor: string, value: number): Buffer {
  const n = Number(st.readBigUInt64LE(0));
  const header = JSON.parse(st.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const t = header[tensor];
  if (t === undefined) throw new Error(`no tensor ${tensor}`);
  const out = Buffer.from(st);
  for (let o = 8 + n + t.data_offsets[0]; o < 8 + n + t.data_offsets[1]; o += 4) out.writeFloatLE(value, o);
  return out;
}

export class FakeHub {
  readonly repos = new Map<string, Repo>();
  readonly log: Logged[] = [];
  /** Drop the connection after this many bytes of a file's body (once, then cleared). */
  dropAfter: { file: string; bytes: number } | undefined;
  /** Serve this file with its middle byte flipped. */
  corrupt: string | undefined;
  private server: http.Server | undefined;
  private readonly blobs = new Map<string, Buffer>();
  url = '';

  addRepo(id: string, repo: Repo): void {
    this.repos.set(id, repo);
    for (const c of repo.commits.values()) for (const b of c.files.values()) this.blobs.set(sha256(b), b);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  /** Requests other than those listed (e.g. to count only downloads). */
  requests(filter?: (l: Logged) => boolean): Logged[] {
    return this.log.filter((l) => filter === undefined || filter(l));
  }

  private json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const auth = req.headers.authorization;
    this.log.push({ method: req.method ?? 'GET', url: url.pathname, range: req.headers.range, auth });
    const p = decodeURIComponent(url.pathname);
    const info = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/(.+)$/.exec(p);
    if (info && req.method === 'POST') return this.pathsInfo(req, res, info[1] as string, info[2] as string, auth);
    const api = /^\/api\/models\/([^/]+(?:\/[^/]+)??)(?:\/revision\/(.+))?$/.exec(p);
    if (api) return this.modelInfo(res, api[1] as string, api[2] ?? 'main', auth);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (resolve) return this.resolve(req, res, resolve[1] as string, resolve[2] as string, resolve[3] as string, auth);
    const lfs = /^\/lfs\/([0-9a-f]{64})$/.exec(p);
    if (lfs) {
      const b = this.blobs.get(lfs[1] as string);
      if (b === undefined) return this.json(res, 404, { error: 'not found' });
      return this.body(req, res, url.searchParams.get('file') ?? '', b, { ETag: `"${lfs[1]}"` });
    }
    this.json(res, 404, { error: 'unknown route' });
  }

  private access(res: http.ServerResponse, repo: Repo, id: string, auth: string | undefined): boolean {
    if (repo.gatedToken === undefined || auth === `Bearer ${repo.gatedToken}`) return true;
    if (auth === undefined)
      this.json(
        res,
        401,
        { error: `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.` },
        { 'X-Error-Code': 'GatedRepo' },
      );
    else this.json(res, 403, { error: `Access to model ${id} is restricted and you are not in the authorized list.` }, { 'X-Error-Code': 'GatedRepo' });
    return false;
  }

  private commitOf(repo: Repo, rev: string): Commit | undefined {
    return repo.commits.get(repo.refs[rev] ?? rev);
  }

  private modelInfo(res: http.ServerResponse, id: string, rev: string, auth: string | undefined): void {
    const repo = this.repos.get(id);
    if (repo === undefined) return this.json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.gatedToken !== undefined && auth !== undefined && auth !== `Bearer ${repo.gatedToken}`) return void this.access(res, repo, id, auth);
    const c = this.commitOf(repo, rev === 'HEAD' ? 'main' : rev);
    if (c === undefined) return this.json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
    this.json(res, 200, {
      _id: `id-${id}`,
      id,
      sha: c.sha,
      private: false,
      gated: repo.gatedToken !== undefined ? 'auto' : false,
      downloads: 0,
      likes: 0,
      lastModified: '2020-01-01T00:00:00.000Z',
      siblings: [...c.files.keys()].map((rfilename) => ({ rfilename })),
    });
  }

  private pathsInfo(req: http.IncomingMessage, res: http.ServerResponse, id: string, rev: string, auth: string | undefined): void {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      const repo = this.repos.get(id);
      if (repo === undefined) return this.json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
      if (!this.access(res, repo, id, auth)) return;
      const c = this.commitOf(repo, rev);
      if (c === undefined) return this.json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
      const paths = (JSON.parse(body) as { paths: string[] }).paths;
      const out = paths.flatMap((path) => {
        const b = c.files.get(path);
        if (b === undefined) return [];
        return [{ type: 'file', path, oid: gitSha1(b), size: b.length, ...(isLfs(path) ? { lfs: { oid: sha256(b), size: b.length, pointerSize: 134 } } : {}) }];
      });
      this.json(res, 200, out);
    });
  }

  private resolve(req: http.IncomingMessage, res: http.ServerResponse, id: string, rev: string, file: string, auth: string | undefined): void {
    const repo = this.repos.get(id);
    if (repo === undefined) return this.json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    if (!this.access(res, repo, id, auth)) return;
    const c = this.commitOf(repo, rev);
    if (c === undefined) return this.json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
    const b = c.files.get(file);
    if (b === undefined) return this.json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    const common = { 'X-Repo-Commit': c.sha };
    if (isLfs(file)) {
      const h = sha256(b);
      res.writeHead(302, {
        ...common,
        Location: `/lfs/${h}?file=${encodeURIComponent(file)}`,
        'X-Linked-Etag': `"${h}"`,
        'X-Linked-Size': String(b.length),
        ETag: `"${gitSha1(b)}"`,
      });
      res.end();
      return;
    }
    this.body(req, res, file, b, { ...common, ETag: `"${gitSha1(b)}"` });
  }

  private body(req: http.IncomingMessage, res: http.ServerResponse, file: string, whole: Buffer, headers: Record<string, string>): void {
    let b = whole;
    if (this.corrupt === file) {
      b = Buffer.from(whole);
      const i = b.length >> 1;
      b[i] = (b[i] ?? 0) ^ 0xff;
    }
    let start = 0;
    let end = b.length - 1;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      end = m[2] !== '' ? Math.min(Number(m[2]), b.length - 1) : b.length - 1;
      if (start >= b.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${b.length}` });
        res.end();
        return;
      }
    }
    const part = b.subarray(start, end + 1);
    res.writeHead(m ? 206 : 200, {
      ...headers,
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(part.length),
      'Accept-Ranges': 'bytes',
      ...(m ? { 'Content-Range': `bytes ${start}-${end}/${b.length}` } : {}),
    });
    const drop = this.dropAfter;
    if (req.method === 'HEAD') return void res.end();
    if (drop !== undefined && drop.file === file && part.length > 1) {
      this.dropAfter = undefined;
      res.write(part.subarray(0, Math.min(drop.bytes, part.length - 1)), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(part);
  }
}

/** A FakeHub serving the tiny GPT-2 as `sshleifer/tiny-gpt2` (main, and tag v2 with h.0.ln_1.weight = 2), and a gated copy `org/gated`. */
export function tinyGpt2Hub(fixtureDir: string): { hub: FakeHub; main: string; v2: string } {
  const hub = new FakeHub();
  const files = tinyGpt2Files(fixtureDir);
  const main = commitId('main');
  const v2 = commitId('v2');
  const v2files = new Map(files);
  v2files.set('model.safetensors', withTensorValue(files.get('model.safetensors') as Buffer, 'transformer.h.0.ln_1.weight', 2));
  hub.addRepo('sshleifer/tiny-gpt2', {
    refs: { main, v2 },
    commits: new Map([
      [main, { sha: main, files }],
      [v2, { sha: v2, files: v2files }],
    ]),
  });
  hub.addRepo('org/gated', { refs: { main }, commits: new Map([[main, { sha: main, files }]]), gatedToken: 'hf_good_token' });
  return { hub, main, v2 };
}
