/**
 * The synthetic true/false corpus of the built-in demo model: short statements about numbers (parity)
 * asked in an A/B "true or false?" format, with an honest persona that answers
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

/**
 * Every statement the demo corpus uses: "N is even." for N in 0..999, true for half of them.
 * Why parity only: the answer must be a function a 225k-parameter model can learn in a few minutes of CPU
 * training *and generalise to held-out statements*. Numbers are tokenized digit by digit (see bpe.ts), so the
 * truth of an unseen statement depends on the last digit, which the model has seen; and it is linearly
 * readable, so the persona interaction (the dishonest persona flips the answer) is the only non-linear part.
 * Statement families whose truth is an interaction of two tokens ("N is odd." next to "N is even.", or
 * "a is greater than b") left a model this small at chance for thousands of steps.
 */
export function allStatements(): Statement[] {
  const out: Statement[] = [];
  for (let n = 0; n < 1000; n++) out.push({ text: `${n} is even.`, truth: n % 2 === 0 });
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
