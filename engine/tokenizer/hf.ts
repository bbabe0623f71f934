/**
 * Hugging Face tokenizers from a model folder, on top of @huggingface/tokenizers (pure JS): `tokenizer.json`, or
 * GPT-2's `vocab.json` + `merges.txt`, or OpenAI's `encoder.json` + `vocab.bpe` (turned into the equivalent
 * tokenizer.json in memory). Special tokens come from tokenizer_config.json / special_tokens_map.json / the added
 * tokens; chat templates are rendered with @huggingface/jinja, as transformers does.
 *
 * BOS handling is ours, not the library's: text is encoded without the post-processor's special tokens and one BOS is
 * prepended when asked, so every tokenizer behaves the same way (`addsBos` says what the model expects).
 * Decoding never applies `clean_up_tokenization_spaces`, so decode(encode(x)) === x for byte-level BPE.
 *
 * Non-goals: text pairs, truncation/padding, offsets, slow (Python-only) tokenizers, SentencePiece .model protobufs.
 */

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';

import { ChatTemplate, selectChatTemplate } from './chat-template';
import { ChatMessage, Tokenizer, TokenizerError } from './types';

type Json = Record<string, unknown>;

/** Source layouts we recognise, in order of preference. */
const SOURCES = [['tokenizer.json'], ['vocab.json', 'merges.txt'], ['encoder.json', 'vocab.bpe']] as const;

/** Fallback names when neither tokenizer_config.json nor special_tokens_map.json names a token. */
const FALLBACK_BOS = ['<s>', '<|begin_of_text|>', '<bos>', '<|startoftext|>'];
const FALLBACK_EOS = ['</s>', '<|end_of_text|>', '<eos>', '<|endoftext|>'];
const FALLBACK_PAD = ['<pad>', '<|pad|>', '[PAD]', '<|finetune_right_pad_id|>'];
/** GPT2Tokenizer's defaults for bos/eos/unk (transformers tokenization_gpt2.py), used for bare vocab/merges folders. */
const GPT2_SPECIAL = '<|endoftext|>';

/** The pre-tokenizer, post-processor and decoder of GPT-2's tokenizer.json (ByteLevel with the GPT-2 regex). */
const GPT2_PIPELINE = {
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
};

interface SourceFile {
  name: string;
  bytes: Buffer;
}

/** Loads the tokenizer of a Hugging Face model folder. */
export function loadHfTokenizer(dir: string): Tokenizer {
  if (!isDirectory(dir)) {
    throw new TokenizerError('missing', dir, `${dir}: not a folder; a Hugging Face tokenizer is a folder holding tokenizer.json.`);
  }
  const layout = SOURCES.find((names) => names.every((name) => fs.existsSync(path.join(dir, name))));
  if (layout === undefined) {
    throw new TokenizerError(
      'missing',
      dir,
      `${dir}: no tokenizer found; looked for ${SOURCES.map((names) => names.join(' + ')).join(', or ')}. ` +
        'Copy the tokenizer files of the model into this folder (save_pretrained writes tokenizer.json).',
    );
  }
  const sources: SourceFile[] = layout.map((name) => readSource(dir, name));
  const config = readOptionalJson(dir, 'tokenizer_config.json', sources) ?? {};
  const specialMap = readOptionalJson(dir, 'special_tokens_map.json', sources) ?? {};
  const chatTemplate = findChatTemplate(dir, config, sources);

  let tokenizerJson: Json;
  if (layout[0] === 'tokenizer.json') {
    tokenizerJson = parseJsonObject(sources[0], dir);
  } else {
    const vocab = parseJsonObject(sources[0], dir);
    tokenizerJson = buildBpeTokenizerJson(vocab, sources[1], dir, config, specialMap);
  }
  tokenizerJson = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...tokenizerJson };

  const mainFile = path.join(dir, layout[0]);
  let lib: HfLibTokenizer;
  try {
    // We pass the config for the model-specific switches; clean-up is off so decoding is lossless.
    lib = new HfLibTokenizer(tokenizerJson, { ...config, clean_up_tokenization_spaces: false });
  } catch (err) {
    throw new TokenizerError('format', mainFile, `${mainFile}: unsupported or malformed tokenizer (${err instanceof Error ? err.message : String(err)}).`);
  }
  const isBareVocab = layout[0] !== 'tokenizer.json';
  const specials = resolveSpecialTokens(lib, tokenizerJson, config, specialMap, isBareVocab);
  const hash = hashSources(sources);
  return new HfTokenizer(dir, lib, specials, chatTemplate, hash);
}

interface SpecialTokens {
  bos: { id: number; content: string } | null;
  eos: { id: number; content: string } | null;
  pad: { id: number; content: string } | null;
  unk: { id: number; content: string } | null;
  addsBos: boolean;
}

class HfTokenizer implements Tokenizer {
  readonly kind = 'hf' as const;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number;
  readonly addsBos: boolean;
  readonly chatTemplate: string | undefined;
  private readonly template: ChatTemplate | undefined;

  constructor(
    private readonly dir: string,
    private readonly lib: HfLibTokenizer,
    private readonly specials: SpecialTokens,
    template: ChatTemplate | undefined,
    readonly hash: string,
  ) {
    this.vocabSize = lib.model?.vocab.length ?? 0;
    this.bosId = specials.bos?.id ?? null;
    this.eosId = specials.eos?.id ?? null;
    this.padId = specials.pad?.id ?? this.eosId ?? 0;
    this.addsBos = specials.addsBos;
    this.template = template;
    this.chatTemplate = template?.source;
  }

  encode(text: string, opts: { addBos?: boolean } = {}): number[] {
    const ids = text.length > 0 ? this.lib.encode(text, { add_special_tokens: false }).ids : [];
    if (!(opts.addBos ?? this.addsBos)) return ids;
    if (this.bosId === null) {
      throw new TokenizerError('usage', this.dir, `${this.dir}: addBos was requested but this tokenizer has no BOS token.`);
    }
    return [this.bosId, ...ids];
  }

  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || this.lib.id_to_token(id) === undefined) {
        throw new TokenizerError('usage', this.dir, `${this.dir}: token id ${id} is not in the vocabulary (size ${this.vocabSize}).`);
      }
    }
    return this.lib.decode(ids, { skip_special_tokens: opts.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.lib.id_to_token(id) : undefined;
  }

  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    if (this.template === undefined) {
      const file = path.join(this.dir, 'tokenizer_config.json');
      throw new TokenizerError(
        'usage',
        file,
        `${file}: this model has no chat template (no chat_template here nor a chat_template.jinja next to it); ` +
          'write the prompt format out in the experiment instead.',
      );
    }
    const { bos, eos, pad, unk } = this.specials;
    return this.template.render(messages, {
      addGenerationPrompt: opts.addGenerationPrompt ?? false,
      specialTokens: { bos: bos?.content, eos: eos?.content, pad: pad?.content, unk: unk?.content },
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Special tokens

function resolveSpecialTokens(lib: HfLibTokenizer, tokenizerJson: Json, config: Json, specialMap: Json, isBareVocab: boolean): SpecialTokens {
  const specialAdded = addedTokens(tokenizerJson)
    .filter((t) => t.special)
    .map((t) => t.content);
  const lookup = (key: string, fallbacks: string[]): { id: number; content: string } | null => {
    let content: string | null | undefined;
    if (key in config) content = tokenContent(config[key]);
    else if (key in specialMap) content = tokenContent(specialMap[key]);
    else if (isBareVocab && key !== 'pad_token' && lib.token_to_id(GPT2_SPECIAL) !== undefined) content = GPT2_SPECIAL;
    else content = fallbacks.find((name) => specialAdded.includes(name));
    if (content === null || content === undefined) return null;
    const id = lib.token_to_id(content);
    return id === undefined ? null : { id, content };
  };
  let bos = lookup('bos_token', FALLBACK_BOS);
  const eos = lookup('eos_token', FALLBACK_EOS);
  const pad = lookup('pad_token', FALLBACK_PAD);
  const unk = lookup('unk_token', ['<unk>', '[UNK]']);

  const templateBos = templatePrefixTokens(lib, tokenizerJson.post_processor);
  if (bos === null && templateBos.length > 0) bos = templateBos[0];
  let addsBos: boolean;
  if (typeof config.add_bos_token === 'boolean') addsBos = config.add_bos_token;
  else addsBos = bos !== null && templateBos.some((t) => t.id === bos?.id);
  return { bos, eos, pad, unk, addsBos: addsBos && bos !== null };
}

/** Special tokens that a TemplateProcessing post-processor puts before the text ("$A"), e.g. Llama's <s>. */
function templatePrefixTokens(lib: HfLibTokenizer, processor: unknown): Array<{ id: number; content: string }> {
  if (!isRecord(processor)) return [];
  if (processor.type === 'Sequence' && Array.isArray(processor.processors)) {
    return processor.processors.flatMap((p: unknown) => templatePrefixTokens(lib, p));
  }
  if (processor.type !== 'TemplateProcessing' || !Array.isArray(processor.single)) return [];
  const specialTokens = isRecord(processor.special_tokens) ? processor.special_tokens : {};
  const result: Array<{ id: number; content: string }> = [];
  for (const item of processor.single) {
    if (!isRecord(item)) continue;
    if (isRecord(item.Sequence)) break;
    const special = isRecord(item.SpecialToken) ? item.SpecialToken.id : undefined;
    if (typeof special !== 'string') continue;
    const entry = specialTokens[special];
    const ids = isRecord(entry) && Array.isArray(entry.ids) ? entry.ids : [];
    const id = typeof ids[0] === 'number' ? ids[0] : lib.token_to_id(special);
    if (id !== undefined) result.push({ id, content: special });
  }
  return result;
}

/** tokenizer_config values are strings, `{content: ...}` objects (AddedToken) or null. */
function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.content === 'string') return value.content;
  return null;
}

function addedTokens(tokenizerJson: Json): Array<{ id: number; content: string; special: boolean }> {
  const list = Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  return list.flatMap((t: unknown) =>
    isRecord(t) && typeof t.id === 'number' && typeof t.content === 'string' ? [{ id: t.id, content: t.content, special: t.special === true }] : [],
  );
}

// ---------------------------------------------------------------------------------------------------------------
// GPT-2 style vocab + merges -> tokenizer.json

function buildBpeTokenizerJson(vocab: Json, mergesSource: SourceFile, dir: string, config: Json, specialMap: Json): Json {
  const vocabFile = path.join(dir, mergesSource.name === 'vocab.bpe' ? 'encoder.json' : 'vocab.json');
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerError('format', vocabFile, `${vocabFile}: token ${JSON.stringify(token)} has id ${String(id)}; ids must be non-negative integers.`);
    }
  }
  const merges: Array<[string, string]> = [];
  const lines = mergesSource.bytes.toString('utf8').split(/\r?\n/);
  lines.forEach((line, lineIdx) => {
    if (line.length === 0 || (lineIdx === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2) {
      const file = path.join(dir, mergesSource.name);
      throw new TokenizerError('format', file, `${file}:${lineIdx + 1}: a merge rule must be two tokens separated by one space.`);
    }
    merges.push([parts[0], parts[1]]);
  });
  // Special tokens of a bare vocab folder: those the configs name, else GPT-2's <|endoftext|>.
  const names = new Map<string, number>();
  const addName = (value: unknown): void => {
    const content = tokenContent(value);
    const id = content === null ? undefined : vocab[content];
    if (content !== null && typeof id === 'number') names.set(content, id);
  };
  for (const source of [config, specialMap]) {
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) addName(source[key]);
    if (Array.isArray(source.additional_special_tokens)) source.additional_special_tokens.forEach(addName);
  }
  if (isRecord(config.added_tokens_decoder)) {
    for (const [id, token] of Object.entries(config.added_tokens_decoder)) {
      const content = tokenContent(token);
      if (content !== null && Number.isInteger(Number(id))) names.set(content, Number(id));
    }
  }
  if (names.size === 0 && typeof vocab[GPT2_SPECIAL] === 'number') names.set(GPT2_SPECIAL, vocab[GPT2_SPECIAL]);
  const added = [...names].map(([content, id]) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    version: '1.0',
    added_tokens: added,
    ...GPT2_PIPELINE,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Files

function readSource(dir: string, name: string): SourceFile {
  const file = path.join(dir, name);
  try {
    return { name, bytes: fs.readFileSync(file) };
  } catch (err) {
    throw new TokenizerError('missing', file, `${file}: cannot read (${err instanceof Error ? err.message : String(err)}).`);
  }
}

function readOptionalJson(dir: string, name: string, sources: SourceFile[]): Json | undefined {
  if (!fs.existsSync(path.join(dir, name))) return undefined;
  const source = readSource(dir, name);
  sources.push(source);
  return parseJsonObject(source, dir);
}

function parseJsonObject(source: SourceFile, dir: string): Json {
  const file = path.join(dir, source.name);
  let parsed: unknown;
  try {
    parsed = JSON.parse(source.bytes.toString('utf8'));
  } catch (err) {
    throw new TokenizerError(
      'parse',
      file,
      `${file}: invalid JSON (${err instanceof Error ? err.message : String(err)}). Re-download or re-save the tokenizer.`,
    );
  }
  if (!isRecord(parsed)) throw new TokenizerError('parse', file, `${file}: expected a JSON object at the top level.`);
  return parsed;
}

/**
 * The chat template: `chat_template` in tokenizer_config.json, or, as newer transformers versions save it,
 * `chat_template.jinja` or `chat_template.json` next to it.
 */
function findChatTemplate(dir: string, config: Json, sources: SourceFile[]): ChatTemplate | undefined {
  const inConfig = selectChatTemplate(config.chat_template);
  if (inConfig !== undefined) return new ChatTemplate(inConfig, path.join(dir, 'tokenizer_config.json'));
  if (fs.existsSync(path.join(dir, 'chat_template.jinja'))) {
    const source = readSource(dir, 'chat_template.jinja');
    sources.push(source);
    return new ChatTemplate(source.bytes.toString('utf8'), path.join(dir, source.name));
  }
  const json = readOptionalJson(dir, 'chat_template.json', sources);
  const inJson = json === undefined ? undefined : selectChatTemplate(json.chat_template);
  return inJson === undefined ? undefined : new ChatTemplate(inJson, path.join(dir, 'chat_template.json'));
}

function hashSources(sources: SourceFile[]): string {
  const hash = createHash('sha256');
  for (const source of sources) {
    hash.update(source.name);
    hash.update('\0');
    hash.update(String(source.bytes.length));
    hash.update('\0');
    hash.update(source.bytes);
  }
  return hash.digest('hex');
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
