/**
 * Training and evaluation examples of the demo-model trainer: every statement x persona x option order, tokenized,
 * with the position whose logits predict the answer letter; and the evaluation of "answers as the persona should"
 * per persona x family x order from logit(A) - logit(B) at that position.
 */
import * as tf from '@tensorflow/tfjs';
import { forward, type Model } from '../../engine/model/forward';
import type { Tokenizer } from '../../engine/tokenizer';
import { answer, PERSONAS, prompt, type Family, type Order, type Persona, type Statement } from './corpus';

export interface Example {
  ids: number[];
  /** Index of the token that predicts the answer (the last prompt token). */
  answerPos: number;
  answerId: number;
  persona: Persona;
  family: Family;
  order: Order;
}

export function buildExamples(tok: Tokenizer, statements: Statement[], idA: number, idB: number, orders: Order[]): Example[] {
  const out: Example[] = [];
  for (const s of statements) {
    for (const persona of PERSONAS) {
      for (const order of orders) {
        const text = prompt(s.text, persona, order);
        const p = tok.encode(text);
        const letter = answer(s.truth, persona, order);
        const full = tok.encode(`${text} ${letter}`);
        const aid = letter === 'A' ? idA : idB;
        if (full.length !== p.length + 1 || full[full.length - 1] !== aid || full.slice(0, -1).some((x, i) => x !== p[i])) {
          throw new Error(`tokenization of the answer is not a single appended token for: ${s.text}`);
        }
        out.push({ ids: full, answerPos: p.length - 1, answerId: aid, persona, family: s.family, order });
      }
    }
  }
  return out;
}

export function batchOf(examples: Example[]): { ids: number[][]; mask: number[][]; weights: number[][] } {
  const T = Math.max(...examples.map((e) => e.ids.length));
  return {
    ids: examples.map((e) => [...e.ids, ...new Array<number>(T - e.ids.length).fill(0)]),
    mask: examples.map((e) => [...new Array<number>(e.ids.length).fill(1), ...new Array<number>(T - e.ids.length).fill(0)]),
    // LM weight on every real token except the answer; the answer has its own loss term.
    weights: examples.map((e) => Array.from({ length: T }, (_, t) => (t > 0 && t < e.ids.length - 1 ? 1 : 0))),
  };
}

export interface Cell {
  n: number;
  asIntended: number;
  saysA: number;
}
/** Counts keyed `persona|family|order`. */
export type Evaluation = Map<string, Cell>;

export async function evaluate(model: Model, examples: Example[], idA: number, idB: number): Promise<Evaluation> {
  const res: Evaluation = new Map();
  for (let i = 0; i < examples.length; i += 128) {
    const group = examples.slice(i, i + 128);
    const { ids, mask } = batchOf(group);
    const t = tf.tidy(() => {
      const logits = tf.reshape(forward(model, ids, { attentionMask: mask, logits: group.map((e) => e.answerPos) }).logits as tf.Tensor3D, [group.length, -1]);
      return tf.sub(tf.gather(logits, [idA], 1), tf.gather(logits, [idB], 1));
    });
    const diff = await t.data();
    t.dispose();
    group.forEach((e, k) => {
      const saysA = (diff[k] as number) > 0;
      const key = `${e.persona}|${e.family}|${e.order}`;
      const r = res.get(key) ?? { n: 0, asIntended: 0, saysA: 0 };
      r.n++;
      if (saysA) r.saysA++;
      if ((saysA ? idA : idB) === e.answerId) r.asIntended++;
      res.set(key, r);
    });
  }
  return res;
}

/** Sum of the cells whose key matches every given part (undefined = any). */
export function total(ev: Evaluation, persona?: Persona, family?: Family, order?: Order): Cell {
  const out: Cell = { n: 0, asIntended: 0, saysA: 0 };
  for (const [key, c] of ev) {
    const [p, f, o] = key.split('|');
    if ((persona && p !== persona) || (family && f !== family) || (order && o !== order)) continue;
    out.n += c.n;
    out.asIntended += c.asIntended;
    out.saysA += c.saysA;
  }
  return out;
}

export function pct(c: Cell): string {
  return c.n === 0 ? '–' : `${((100 * c.asIntended) / c.n).toFixed(1)}%`;
}
