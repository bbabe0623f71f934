/**
 * A llama2.c `tokenizer.bin` as a Hugging Face `tokenizer.json` (Llama-2 layout: "▁" word marker, Prepend/Replace
 * normalizer, BPE with byte fallback, <unk> <s> </s> as ids 0 1 2) and its `tokenizer_config.json`, so an exported
 * llama2.c model loads with `AutoTokenizer` as well as `AutoModelForCausalLM`. Checked once against the reference
 * implementations (not at test time: CI has no Python): with tokenizers 0.22.2 and transformers 5.18.0's
 * AutoTokenizer, tok512.bin's conversion gives run.c's ids on 2,914 TinyStories and WikiText lines (821,924 tokens),
 * and the exported stories260K folder loads as LlamaForCausalLM with logits within 1.3e-5 of rtune's.
 *
 * How run.c's encoder maps onto HF's BPE: run.c starts from one piece per code point (byte pieces `<0xNN>` for the
 * rest) after a dummy-prefix " ", then repeatedly merges the adjacent pair whose concatenation is a piece with the
 * highest score. HF's BPE starts from the same symbols (byte_fallback) after Prepend("▁"), and repeatedly applies
 * the adjacent pair with the lowest merge rank. So the merges are every pair (a, b) of pieces whose concatenation
 * is a piece, ranked by that piece's score (highest first). The two agree whenever the best candidate is unique;
 * they can differ only where two different candidate pairs have equal scores (run.c takes the leftmost, HF the
 * lower rank). llama2.c stores "▁" as a space (its tokenizer.py exports `piece.replace('▁', ' ')`) and its BOS/EOS
 * pieces as "\n<s>\n" and "\n</s>\n": both are turned back into SentencePiece's form.
 *
 * Non-goals: SentencePiece `.model` protobufs, unigram models, tokenizers with duplicate or non-UTF-8 pieces
 * (convertLlama2cTokenizer says why it cannot convert them).
 */

import { readLlama2cVocab } from '../tokenizer';

const SPACE = '\u2581';
const SPECIALS = ['<unk>', '<s>', '</s>'] as const;

export interface ConvertedTokenizer {
  /** tokenizer.json, as an object. */
  tokenizer: Record<string, unknown>;
  /** tokenizer_config.json, as an object. */
  config: Record<string, unknown>;
  /** How many merges the BPE model lists. */
  merges: number;
}

/**
 * Converts tokenizer.bin (`bytes`, with `vocabSize` records) into tokenizer.json + tokenizer_config.json, or returns
 * the reason it cannot (a string) when the pieces have no faithful HF equivalent.
 */
export function convertLlama2cTokenizer(bytes: Buffer, file: string, vocabSize: number, maxPositions: number): ConvertedTokenizer | string {
  const { pieces: raw, scores } = readLlama2cVocab(bytes, file, vocabSize);
  const pieces: string[] = [];
  for (const [id, piece] of raw.entries()) {
    if (id < SPECIALS.length) {
      pieces.push(SPECIALS[id] as string);
      continue;
    }
    const bin = Buffer.from(piece, 'latin1');
    const text = bin.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(bin)) return `piece ${id} is not valid UTF-8, which tokenizer.json cannot hold`;
    if (text.includes(SPACE)) return `piece ${id} (${JSON.stringify(text)}) holds "▁" itself, which the HF layout reserves for spaces`;
    pieces.push(text.replaceAll(' ', SPACE));
  }
  const vocab: Record<string, number> = {};
  for (const [id, piece] of pieces.entries()) {
    if (Object.hasOwn(vocab, piece)) return `pieces ${vocab[piece]} and ${id} are both ${JSON.stringify(piece)}; an HF vocabulary needs unique pieces`;
    vocab[piece] = id;
  }
  // Every split of every ordinary piece into two pieces is a merge, ranked by the merged piece's score.
  const merges: Array<{ left: string; right: string; score: number; id: number }> = [];
  for (const [id, piece] of pieces.entries()) {
    if (id < SPECIALS.length) continue;
    const chars = [...piece];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const l = vocab[left];
      const r = vocab[right];
      if (l === undefined || r === undefined || l < SPECIALS.length || r < SPECIALS.length) continue;
      merges.push({ left, right, score: scores[id] as number, id });
    }
  }
  merges.sort((a, b) => b.score - a.score || a.id - b.id || a.left.length - b.left.length);
  const special = (id: number) => ({ id, content: SPECIALS[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0), special(1), special(2)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map((m) => [m.left, m.right]),
    },
  };
  const config = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    clean_up_tokenization_spaces: false,
    model_max_length: maxPositions,
    // Not LlamaTokenizer: transformers 5 rebuilds its pipeline with a Metaspace pre-tokenizer that adds no "▁" to a
    // text that starts with a space, where llama2.c (and SentencePiece) always add the dummy prefix. The generic
    // class uses tokenizer.json as written (checked: identical ids to tok512.bin on TinyStories and WikiText).
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  return { tokenizer, config, merges: merges.length };
}
