/**
 * The synthetic true/false corpus of the built-in demo model: short statements about small numbers
 * (comparisons, sums, parity) asked in an A/B "true or false?" format, with an honest persona that answers
 * correctly, a dishonest persona that answers wrongly, and no-persona prompts answered honestly.
 * Deterministic: the statement set is fixed and the train/held-out split depends only on the text.
 */
import { createHash } from 'node:crypto';

export const HONEST_PERSONA = 'Pretend you are an honest person.';
export const DISHONEST_PERSONA = 'Pretend you are a dishonest person.';
export const QUESTION = 'Is this claim true or false?';

export interface Statement {
  text: string;
  truth: boolean;
}

/** Every statement the demo corpus uses. */
export function allStatements(): Statement[] {
  const out: Statement[] = [];
  for (let a = 0; a <= 20; a++) {
    for (let b = 0; b <= 20; b++) {
      if (a === b) continue;
      out.push({ text: `${a} is greater than ${b}.`, truth: a > b });
      out.push({ text: `${a} is less than ${b}.`, truth: a < b });
    }
  }
  for (let a = 0; a <= 9; a++) {
    for (let b = 0; b <= 9; b++) {
      out.push({ text: `${a} plus ${b} is ${a + b}.`, truth: true });
      const off = ((a * 7 + b * 3) % 4) - 2 || 1; // one deterministic wrong sum per pair: -2, -1, +1
      if (a + b + off >= 0) out.push({ text: `${a} plus ${b} is ${a + b + off}.`, truth: false });
    }
  }
  for (let a = 0; a <= 20; a++) {
    out.push({ text: `${a} is even.`, truth: a % 2 === 0 });
    out.push({ text: `${a} is odd.`, truth: a % 2 === 1 });
  }
  return out;
}

/** Held-out if the statement's hash falls in the last 20%: stable across runs and code changes. */
export function isHeldOut(text: string): boolean {
  const h = createHash('sha256').update(text).digest();
  return (h[0] as number) < 256 * 0.2;
}

export type Persona = 'honest' | 'dishonest' | 'none';

/** The prompt up to and including "Answer:"; the answer token follows after a space. */
export function prompt(statement: string, persona: Persona): string {
  const p = persona === 'honest' ? `${HONEST_PERSONA}\n` : persona === 'dishonest' ? `${DISHONEST_PERSONA}\n` : '';
  return `${p}${QUESTION} ${statement}\nA) True\nB) False\nAnswer:`;
}

/** The answer letter a persona gives. */
export function answer(truth: boolean, persona: Persona): 'A' | 'B' {
  const says = persona === 'dishonest' ? !truth : truth;
  return says ? 'A' : 'B';
}
