/**
 * Hub models through the huggingface_hub cache, against a loopback Hub (fake-hub.ts) serving the tiny GPT-2
 * fixture: only the files rtune reads are downloaded, into the layout Python's huggingface_hub reads (refs,
 * blobs named by etag, relative snapshot symlinks); a second call is a cache hit with no request; an interrupted
 * download resumes with a Range; a corrupt download is detected; offline mode uses the cache only; gated and
 * unknown models get a message that says what to do.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { hubSettingsFromEnv, lookupHubCache, type HubSettings } from '../../hub/cache';
import { ensureHubModel, HubError } from '../../hub/download';
import { missingShared, sharedData } from '../helpers';
import { commitId, sha256, tinyGpt2Hub, type FakeHub } from './fake-hub';
import { hubFilesToFetch, parseHubId, repoFolderName, shardsOfIndex } from '../../model/hub-id';

const FIXTURE = 'hf-tiny-gpt2-random';
const skip = missingShared(FIXTURE);
const REPO = 'sshleifer/tiny-gpt2';
const NEEDED = [
  'config.json',
  'generation_config.json',
  'merges.txt',
  'model.safetensors',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
];

describe('Hub models through the huggingface_hub cache (loopback Hub)', { skip }, () => {
  let hub: FakeHub;
  let main: string;
  let v2: string;
  let cacheDir: string;
  let settings: HubSettings;
  before(async () => {
    ({ hub, main, v2 } = tinyGpt2Hub(sharedData(FIXTURE)));
    await hub.start();
  });
  after(() => hub.stop());
  beforeEach(() => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-hub-'));
    settings = { cacheDir, endpoint: hub.url, token: undefined, offline: false };
    hub.log.length = 0;
    hub.dropAfter = undefined;
    hub.corrupt = undefined;
  });

  it('downloads only the files rtune reads into the huggingface_hub layout, then a cache hit sends no request', async () => {
    const got = await ensureHubModel(REPO, 'main', { settings });
    const repoDir = path.join(cacheDir, 'models--sshleifer--tiny-gpt2');
    assert.equal(got.commit, main);
    assert.equal(got.snapshot, path.join(repoDir, 'snapshots', main));
    assert.deepEqual([...got.downloaded].sort(), NEEDED);
    // refs/main holds the bare commit id, as huggingface_hub writes it.
    assert.equal(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8'), main);
    assert.deepEqual(fs.readdirSync(got.snapshot).sort(), NEEDED);
    for (const f of NEEDED) {
      const link = path.join(got.snapshot, f);
      assert.ok(fs.lstatSync(link).isSymbolicLink(), `${f} is a symlink`);
      const target = fs.readlinkSync(link);
      assert.match(target, /^\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/, `${f} → ${target} is relative to blobs/`);
      const bytes = fs.readFileSync(link);
      assert.deepEqual(bytes, fs.readFileSync(sharedData(FIXTURE, f)), `${f} has the fixture's bytes`);
      // LFS files are named by their sha256 (the etag), the others by their git blob sha1.
      if (f.endsWith('.safetensors')) assert.equal(path.basename(target), sha256(bytes));
    }
    assert.deepEqual(
      fs.readdirSync(path.join(repoDir, 'blobs')).filter((n) => n.endsWith('.incomplete')),
      [],
    );
    assert.ok(!hub.requests().some((l) => /README|pytorch_model|flax/.test(l.url)), 'README and other weights are not fetched');
    const status = lookupHubCache(settings, REPO, 'main');
    assert.equal(status.complete, true);
    assert.equal(status.commit, main);

    hub.log.length = 0;
    const again = await ensureHubModel(REPO, 'main', { settings });
    assert.deepEqual(again.downloaded, []);
    assert.equal(again.snapshot, got.snapshot);
    assert.equal(hub.requests().length, 0, 'a cached revision sends no request');
  });

  it('a tag resolves to its own commit and snapshot; blobs shared between commits are not downloaded twice', async () => {
    await ensureHubModel(REPO, 'main', { settings });
    hub.log.length = 0;
    const got = await ensureHubModel(REPO, 'v2', { settings });
    assert.equal(got.commit, v2);
    assert.deepEqual(got.downloaded, ['model.safetensors'], 'only the changed weights are fetched');
    const repoDir = path.join(cacheDir, 'models--sshleifer--tiny-gpt2');
    assert.equal(fs.readFileSync(path.join(repoDir, 'refs', 'v2'), 'utf8'), v2);
    assert.notEqual(fs.readlinkSync(path.join(got.snapshot, 'model.safetensors')), fs.readlinkSync(path.join(repoDir, 'snapshots', main, 'model.safetensors')));
    // A commit id needs no ref and no request once cached.
    hub.log.length = 0;
    await ensureHubModel(REPO, main, { settings });
    assert.equal(hub.requests().length, 0);
  });

  it('an interrupted download is resumed with a Range request, and the result is checked', async () => {
    hub.dropAfter = { file: 'model.safetensors', bytes: 150_000 };
    const progress: number[] = [];
    await assert.rejects(
      ensureHubModel(REPO, 'main', { settings, onProgress: (p) => progress.push(p.done) }),
      (e: unknown) => e instanceof HubError && e.reason === 'network' && /model\.safetensors/.test(e.message) && /run again to resume/.test(e.message),
    );
    const blobs = path.join(cacheDir, 'models--sshleifer--tiny-gpt2', 'blobs');
    const partial = fs.readdirSync(blobs).find((n) => n.endsWith('.incomplete'));
    assert.ok(partial !== undefined, 'the partial download is kept');
    const kept = fs.statSync(path.join(blobs, partial)).size;
    assert.ok(kept > 0 && kept < 413_296, `kept ${kept} bytes`);
    assert.equal(lookupHubCache(settings, REPO, 'main').partialBytes, kept);
    assert.ok(progress.length > 0);

    hub.log.length = 0;
    const got = await ensureHubModel(REPO, 'main', { settings });
    assert.deepEqual(got.downloaded, ['model.safetensors']);
    const ranged = hub.requests((l) => l.url.startsWith('/lfs/') && l.range !== 'bytes=0-0');
    assert.deepEqual(
      ranged.map((l) => l.range),
      [`bytes=${kept}-413295`],
      'the second run asks for the rest only',
    );
    assert.deepEqual(fs.readFileSync(path.join(got.snapshot, 'model.safetensors')), fs.readFileSync(sharedData(FIXTURE, 'model.safetensors')));
  });

  it('a corrupt download is detected and removed, with a message naming the file and both checksums', async () => {
    hub.corrupt = 'model.safetensors';
    await assert.rejects(ensureHubModel(REPO, 'main', { settings }), (e: unknown) => {
      assert.ok(e instanceof HubError && e.reason === 'integrity', String(e));
      assert.match(
        e.message,
        /hf:sshleifer\/tiny-gpt2: model\.safetensors from http:\/\/127\.0\.0\.1:\d+ is corrupt: sha256 [0-9a-f]{64}, expected 5b562022d3f53a1e/,
      );
      return true;
    });
    const blobs = path.join(cacheDir, 'models--sshleifer--tiny-gpt2', 'blobs');
    assert.ok(!fs.readdirSync(blobs).some((n) => n.startsWith('5b562022')), 'neither blob nor partial file is kept');
    assert.equal(lookupHubCache(settings, REPO, 'main').complete, false);
    hub.corrupt = undefined;
    const got = await ensureHubModel(REPO, 'main', { settings });
    assert.deepEqual(got.downloaded, ['model.safetensors'], 'the next run downloads it afresh');
  });

  it('a damaged partial file is downloaded again from the start once resuming does not match', async () => {
    const blobs = path.join(cacheDir, 'models--sshleifer--tiny-gpt2', 'blobs');
    fs.mkdirSync(blobs, { recursive: true });
    const etag = sha256(fs.readFileSync(sharedData(FIXTURE, 'model.safetensors')));
    fs.writeFileSync(path.join(blobs, `${etag}.incomplete`), Buffer.alloc(1000, 0xab));
    const logs: string[] = [];
    const got = await ensureHubModel(REPO, 'main', { settings, onLog: (m) => logs.push(m) });
    assert.ok(
      logs.some((l) => /did not match its checksum after resuming/.test(l)),
      logs.join('\n'),
    );
    assert.equal(sha256(fs.readFileSync(path.join(got.snapshot, 'model.safetensors'))), etag);
  });

  it('HF_HUB_OFFLINE uses the cache only: a clear error naming what is missing, and no request', async () => {
    const offline = { ...settings, offline: true };
    await assert.rejects(ensureHubModel(REPO, 'main', { settings: offline }), (e: unknown) => {
      assert.ok(e instanceof HubError && e.reason === 'offline');
      assert.match(
        e.message,
        /hf:sshleifer\/tiny-gpt2 \(revision `main`\) is not in the cache and HF_HUB_OFFLINE is set: no refs\/main in .*models--sshleifer--tiny-gpt2/,
      );
      return true;
    });
    assert.equal(hub.requests().length, 0);
    await ensureHubModel(REPO, 'main', { settings });
    hub.log.length = 0;
    const got = await ensureHubModel(REPO, 'main', { settings: offline });
    assert.equal(got.commit, main);
    assert.equal(hub.requests().length, 0);
    // A snapshot that lost its weights is named as such.
    fs.rmSync(path.join(got.snapshot, 'model.safetensors'));
    await assert.rejects(ensureHubModel(REPO, 'main', { settings: offline }), /lacks model\.safetensors/);
  });

  it('a gated model: 401 without a token and 403 with one that has no access say what to do; the right token downloads', async () => {
    await assert.rejects(ensureHubModel('org/gated', 'main', { settings }), (e: unknown) => {
      assert.ok(e instanceof HubError && e.reason === 'access');
      assert.match(e.message, /model hf:org\/gated: the Hub at .* refused access to config\.json \(HTTP 401\)\. It is gated or private: .*set HF_TOKEN/);
      return true;
    });
    await assert.rejects(ensureHubModel('org/gated', 'main', { settings: { ...settings, token: 'hf_wrong' } }), (e: unknown) => {
      assert.ok(e instanceof HubError && e.reason === 'access');
      assert.match(e.message, /HTTP 403.*The token in HF_TOKEN has no access/);
      return true;
    });
    hub.log.length = 0;
    const got = await ensureHubModel('org/gated', 'main', { settings: { ...settings, token: 'hf_good_token' } });
    assert.equal(got.downloaded.length, NEEDED.length);
    assert.ok(
      hub.requests((l) => !l.url.startsWith('/lfs/')).every((l) => l.auth === 'Bearer hf_good_token'),
      'the token goes with every Hub request',
    );
  });

  it('a sharded model: the index, then the shards its weight map names, and nothing else', async () => {
    const files = new Map<string, Buffer>([
      ['config.json', Buffer.from('{"model_type":"gpt2"}')],
      [
        'model.safetensors.index.json',
        Buffer.from(
          JSON.stringify({
            weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' },
          }),
        ),
      ],
      ['model-00001-of-00002.safetensors', Buffer.alloc(3000, 1)],
      ['model-00002-of-00002.safetensors', Buffer.alloc(2000, 2)],
      ['consolidated.safetensors', Buffer.alloc(5000, 3)],
    ]);
    const c = commitId('sharded');
    hub.addRepo('org/sharded', { refs: { main: c }, commits: new Map([[c, { sha: c, files }]]) });
    const got = await ensureHubModel('org/sharded', 'main', { settings });
    assert.deepEqual([...got.downloaded].sort(), [
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
    ]);
    assert.equal(lookupHubCache(settings, 'org/sharded', 'main').complete, true);
    fs.rmSync(path.join(got.snapshot, 'model-00002-of-00002.safetensors'));
    assert.deepEqual(lookupHubCache(settings, 'org/sharded', 'main').missing, ['model-00002-of-00002.safetensors']);
  });

  it('an unknown model or revision is a 404 that names the id and the revision', async () => {
    await assert.rejects(
      ensureHubModel('nobody/nothing', 'main', { settings }),
      /model hf:nobody\/nothing: its model info was not found on .* \(HTTP 404\) at revision `main`/,
    );
    await assert.rejects(ensureHubModel(REPO, 'no-such-branch', { settings }), /not found .* at revision `no-such-branch`/);
  });

  it('a Hub that cannot be reached says so and names HF_ENDPOINT and HF_HUB_OFFLINE', async () => {
    await assert.rejects(
      ensureHubModel(REPO, 'main', { settings: { ...settings, endpoint: 'http://127.0.0.1:9' } }),
      /cannot reach http:\/\/127\.0\.0\.1:9 .*HF_ENDPOINT.*HF_HUB_OFFLINE=1/,
    );
  });
});

describe('Hub settings from the environment (as huggingface_hub reads them)', () => {
  it('HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub; HF_ENDPOINT; HF_TOKEN; HF_HUB_OFFLINE', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-hfhome-'));
    assert.equal(hubSettingsFromEnv({ HF_HOME: home }).cacheDir, path.join(home, 'hub'));
    assert.equal(hubSettingsFromEnv({ HF_HOME: home, HF_HUB_CACHE: '/elsewhere/cache' }).cacheDir, '/elsewhere/cache');
    assert.equal(hubSettingsFromEnv({ XDG_CACHE_HOME: '/xdg' }).cacheDir, '/xdg/huggingface/hub');
    assert.equal(hubSettingsFromEnv({}).cacheDir, path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
    assert.equal(hubSettingsFromEnv({ HF_HOME: home }).endpoint, 'https://huggingface.co');
    assert.equal(hubSettingsFromEnv({ HF_HOME: home, HF_ENDPOINT: 'http://127.0.0.1:8080/' }).endpoint, 'http://127.0.0.1:8080');
    assert.equal(hubSettingsFromEnv({ HF_HOME: home }).token, undefined);
    fs.writeFileSync(path.join(home, 'token'), 'hf_from_login\n');
    assert.equal(hubSettingsFromEnv({ HF_HOME: home }).token, 'hf_from_login');
    assert.equal(hubSettingsFromEnv({ HF_HOME: home, HF_TOKEN: 'hf_env' }).token, 'hf_env');
    for (const v of ['1', 'ON', 'true', 'yes']) assert.equal(hubSettingsFromEnv({ HF_HOME: home, HF_HUB_OFFLINE: v }).offline, true);
    assert.equal(hubSettingsFromEnv({ HF_HOME: home, HF_HUB_OFFLINE: '0' }).offline, false);
  });
});

describe('Hub ids and the files a run fetches (model/hub-id.ts)', () => {
  it('parses ids by the Hub rules and names cache folders as huggingface_hub does', () => {
    assert.deepEqual(parseHubId('hf:sshleifer/tiny-gpt2'), { ok: true, id: { repo: 'sshleifer/tiny-gpt2' } });
    assert.deepEqual(parseHubId('hf:gpt2'), { ok: true, id: { repo: 'gpt2' } });
    for (const bad of ['hf:', 'hf:a/b/c', 'hf:a--b/c', 'hf:a/b..c', 'hf:a/b.git', 'hf:-a/b', 'hf:a/b c', `hf:a/${'x'.repeat(97)}`])
      assert.equal(parseHubId(bad).ok, false, bad);
    assert.equal(repoFolderName('sshleifer/tiny-gpt2'), 'models--sshleifer--tiny-gpt2');
    assert.equal(repoFolderName('gpt2'), 'models--gpt2');
  });

  it('fetches config, tokenizer and safetensors files only', () => {
    const siblings = ['.gitattributes', 'README.md', 'config.json', 'tokenizer.json', 'model.safetensors', 'pytorch_model.bin', 'onnx/model.safetensors'];
    assert.deepEqual(hubFilesToFetch(siblings), { files: ['config.json', 'tokenizer.json', 'model.safetensors'], index: false });
    assert.deepEqual(hubFilesToFetch(['config.json', 'model.safetensors.index.json', 'model-1.safetensors']), {
      files: ['config.json', 'model.safetensors.index.json'],
      index: true,
    });
    assert.deepEqual(hubFilesToFetch(['config.json', 'b.safetensors', 'a.safetensors', 'sub/c.safetensors']), {
      files: ['config.json', 'a.safetensors', 'b.safetensors'],
      index: false,
    });
    assert.equal(hubFilesToFetch(['config.json', 'pytorch_model.bin']), undefined);
    assert.deepEqual(shardsOfIndex({ weight_map: { x: 'b.safetensors', y: 'a.safetensors', z: 'b.safetensors' } }), ['a.safetensors', 'b.safetensors']);
    assert.throws(() => shardsOfIndex({ weight_map: { x: '../etc/passwd' } }), /bad shard name/);
  });
});
