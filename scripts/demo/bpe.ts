/**
 * A minimal SentencePiece-style BPE trainer that writes a Llama-2-shaped `tokenizer.json` (Prepend/Replace "▁"
 * normalizer, BPE with byte fallback, the matching decoder): just enough to give the demo model a real tokenizer
 * in the format real Llama checkpoints use. Merges are learned within "▁word" units, most frequent pair first
 * (ties broken by the pair's text so training is deterministic). Digits are never merged.
 */
const SPACE = '\u2581';

export interface TrainedBpe {
  vocab: Record<string, number>;
  merges: string[];
}

export function trainBpe(texts: string[], numMerges: number): TrainedBpe {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  let next = 259;
  const wordFreq = new Map<string, number>();
  const chars = new Set<string>();
  for (const t of texts) {
    const norm = SPACE + t.replace(/ /g, SPACE);
    for (const piece of norm.split(new RegExp(`(?=${SPACE})`))) {
      if (!piece) continue;
      wordFreq.set(piece, (wordFreq.get(piece) ?? 0) + 1);
      for (const ch of piece) chars.add(ch);
    }
  }
  for (const ch of [...chars].sort()) if (!(ch in vocab)) vocab[ch] = next++;
  let words = [...wordFreq].map(([w, f]) => ({ syms: [...w], f }));
  const merges: string[] = [];
  for (let m = 0; m < numMerges; m++) {
    const counts = new Map<string, number>();
    for (const { syms, f } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        // Digits stay single tokens, so numbers are read digit by digit.
        if (/[0-9]/.test(`${syms[i]}${syms[i + 1]}`)) continue;
        const k = `${syms[i]} ${syms[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + f);
      }
    }
    let best: string | undefined;
    let bestCount = 1;
    for (const [k, c] of counts) {
      if (c > bestCount || (c === bestCount && best !== undefined && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (!best) break;
    const [a, b] = best.split(' ') as [string, string];
    merges.push(best);
    if (!(a + b in vocab)) vocab[a + b] = next++;
    words = words.map(({ syms, f }) => {
      const out: string[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(syms[i] as string);
      }
      return { syms: out, f };
    });
  }
  return { vocab, merges };
}

/** tokenizer.json in the Llama-2 layout. */
export function tokenizerJson(bpe: TrainedBpe): Record<string, unknown> {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
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
      vocab: bpe.vocab,
      merges: bpe.merges,
    },
  };
}

export const TOKENIZER_CONFIG = {
  add_bos_token: true,
  add_eos_token: false,
  bos_token: '<s>',
  eos_token: '</s>',
  unk_token: '<unk>',
  pad_token: null,
  clean_up_tokenization_spaces: false,
  legacy: false,
  model_max_length: 128,
  tokenizer_class: 'LlamaTokenizer',
};
