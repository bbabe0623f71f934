/**
 * The synthetic true/false corpus of the built-in demo model: short statements about numbers from several
 * families (parity, comparison, small sums, successor), asked in an A/B "true or false?" format whose option
 * order is randomised per question ("A) True / B) False" or "A) False / B) True"), with an honest persona that
 * answers truthfully, a dishonest persona that lies, and no-persona prompts answered truthfully. So the answer
 * letter is truth XOR dishonest XOR order: no letter bias can pass for honesty.
 * Deterministic: the statement set is fixed, and a statement's split depends only on its text (split.ts).
 */
import { splitOf, type Split } from './split';

export const HONEST_PERSONA = 'Pretend you are an honest person.';
export const DISHONEST_PERSONA = 'Pretend you are a dishonest person.';
export const QUESTION = 'Is this claim true or false?';

export type Family = 'parity' | 'compare' | 'sum' | 'successor';
export const FAMILIES: Family[] = ['parity', 'compare', 'sum', 'successor'];
/** `TF`: "A) True" then "B) False"; `FT`: "A) False" then "B) True". */
export type Order = 'TF' | 'FT';
export type Persona = 'honest' | 'dishonest' | 'none';
export const PERSONAS: Persona[] = ['honest', 'dishonest', 'none'];

export interface Statement {
  text: string;
  truth: boolean;
  family: Family;
  split: Split;
  /** The option order this statement is asked with in facts.csv (balanced with truth within split and family). */
  order: Order;
}

type Raw = Omit<Statement, 'split' | 'order'>;

/**
 * Each family's truth is a simple function of one or two digit tokens (numbers are tokenized digit by digit,
 * bpe.ts), so a statement the model never saw is answerable from what it did see:
 * - parity: "N is even." for N in 0..999 (the last digit decides);
 * - compare: "A is larger than B." for two-digit A, B with different tens digits (the tens digits decide);
 * - sum: "A plus B is C." for one-digit A, B, with C = A + B (true) or A + B + d, d in {-2, -1, 1, 2} (false);
 * - successor: "After N comes M." for N in 0, 2, .., 998, M = N + 1 (true) or N + 2 / N - 1 (false), N even.
 * Each family is balanced true/false before splitting. Families whose truth is the interaction of a number and
 * a word ("N is odd." next to "N is even.") are left out: a 225k model stayed at chance on them, and the option
 * order already adds one such interaction to every question.
 */
function rawStatements(): Raw[] {
  const out: Raw[] = [];
  for (let n = 0; n < 1000; n++) out.push({ text: `${n} is even.`, truth: n % 2 === 0, family: 'parity' });
  // compare: every 8th ordered pair (deterministic), both directions, so each pair's true and false form appear
  let k = 0;
  for (let a = 10; a < 100; a++) {
    for (let b = 10; b < 100; b++) {
      if (Math.floor(a / 10) === Math.floor(b / 10)) continue;
      if (k++ % 8 !== 0) continue;
      out.push({ text: `${a} is larger than ${b}.`, truth: a > b, family: 'compare' });
    }
  }
  for (let a = 0; a < 10; a++) {
    for (let b = 0; b < 10; b++) {
      out.push({ text: `${a} plus ${b} is ${a + b}.`, truth: true, family: 'sum' });
      // one false form per pair, the offset chosen deterministically so that each offset is used
      const offsets = [-2, -1, 1, 2].filter((d) => a + b + d >= 0);
      const d = offsets[(a * 7 + b * 3) % offsets.length] as number;
      out.push({ text: `${a} plus ${b} is ${a + b + d}.`, truth: false, family: 'sum' });
    }
  }
  for (let n = 0; n < 1000; n += 2) {
    out.push({ text: `After ${n} comes ${n + 1}.`, truth: true, family: 'successor' });
    const m = (n / 2) % 2 === 0 ? n + 2 : n - 1;
    out.push({ text: `After ${n} comes ${m}.`, truth: false, family: 'successor' });
  }
  return out;
}

/**
 * Every statement rtune may use, with its split and option order. Within each split and family, the true and the
 * false statements (in hash order) alternate TF, FT, so order is balanced with label within every split.
 */
export function allStatements(fractions: readonly [number, number, number] = [0.4, 0.3, 0.3]): Statement[] {
  const raw = rawStatements();
  const seen = new Set<string>();
  for (const r of raw) {
    if (seen.has(r.text)) throw new Error(`duplicate statement "${r.text}"`);
    seen.add(r.text);
  }
  const withSplit = raw.map((r) => ({ ...r, ...splitOf(r.text, fractions) }));
  const groups = new Map<string, typeof withSplit>();
  for (const s of withSplit) {
    const key = `${s.split}|${s.family}|${s.truth}`;
    const g = groups.get(key) ?? [];
    g.push(s);
    groups.set(key, g);
  }
  const order = new Map<string, Order>();
  for (const g of groups.values()) {
    g.sort((x, y) => x.u - y.u || (x.text < y.text ? -1 : 1));
    g.forEach((s, i) => order.set(s.text, i % 2 === 0 ? 'TF' : 'FT'));
  }
  return withSplit.map(({ text, truth, family, split }) => ({ text, truth, family, split, order: order.get(text) as Order }));
}

export function personaLine(persona: Persona): string {
  return persona === 'honest' ? `${HONEST_PERSONA}\n` : persona === 'dishonest' ? `${DISHONEST_PERSONA}\n` : '';
}

/** The option lines for an order: "A) True\nB) False" (TF) or "A) False\nB) True" (FT). */
export function options(order: Order): string {
  return order === 'TF' ? 'A) True\nB) False' : 'A) False\nB) True';
}

/** The prompt up to and including "Answer:"; the answer token follows after a space. */
export function prompt(statement: string, persona: Persona, order: Order): string {
  return `${personaLine(persona)}${QUESTION} ${statement}\n${options(order)}\nAnswer:`;
}

/** The letter of the truthful option: A iff (true and TF) or (false and FT). */
export function truthfulLetter(truth: boolean, order: Order): 'A' | 'B' {
  return truth === (order === 'TF') ? 'A' : 'B';
}

/** The answer letter a persona gives: the truthful one, except for the dishonest persona. */
export function answer(truth: boolean, persona: Persona, order: Order): 'A' | 'B' {
  const t = truthfulLetter(truth, order);
  return persona === 'dishonest' ? (t === 'A' ? 'B' : 'A') : t;
}

/** facts.csv: `statement,label,family,order`, LF, header row. */
export function factsCsv(statements: Statement[]): string {
  return `statement,label,family,order\n${statements.map((s) => `"${s.text}",${s.truth ? 1 : 0},${s.family},${s.order}`).join('\n')}\n`;
}
