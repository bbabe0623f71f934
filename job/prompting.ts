/**
 * Prompt sets as the sections use them: reading a set's statements, rendering its template with a persona and a
 * label, tokenising with the anchor position, and the answer-label token ids. Pure functions of the RunConfig and
 * a tokenizer session. Non-goals: templates and CSV parsing themselves (engine/method/prompts.ts).
 */
import * as fs from 'node:fs';
import { inSplit } from '../common/split';
import { abRows, type AbItem } from '../engine/method/evaluate';
import {
  anchor,
  correctPairs,
  parseStatementsCsv,
  promptBeforeLabel,
  renderTemplate,
  type ContrastPair,
  type ContrastSide,
  type SideAnswer,
  type StatementRow,
} from '../engine/method/prompts';
import type { Session } from '../engine/session';
import type { PromptSetConfig } from '../protocol/contract';

/** The set's rows: the CSV's, in file order, then its `split` (common/split.ts), then its `limit`. */
export function readRows(p: PromptSetConfig): StatementRow[] {
  const all = parseStatementsCsv(fs.readFileSync(p.data, 'utf8'), p.data, {
    text: p.textColumn,
    label: p.labelColumn,
    ...(p.orderColumn !== undefined ? { order: p.orderColumn } : {}),
  });
  const rows = inSplit(all, (r) => r.statement, p.split, p.splitFractions);
  if (rows.length === 0)
    throw new Error(
      `prompts ${p.name}: none of the ${all.length} statements of ${p.data} falls in split ${p.split} (split_fractions [${p.splitFractions.join(', ')}]); use a larger fraction or more statements`,
    );
  return p.limit !== undefined ? rows.slice(0, p.limit) : rows;
}

/** Whether the row shows False as its first option (an `FT` row of a set with `order_column`). */
function falseFirst(p: PromptSetConfig, r: StatementRow): boolean {
  return p.orderColumn !== undefined && r.order === 'FT';
}

/**
 * The answer letter meaning True (`saysTrue`) or False in this row: `true_label` names the first option line and
 * `false_label` the second, so in an `FT` row True is `false_label`. Without `order_column` True is `true_label`.
 */
export function letterFor(p: PromptSetConfig, r: StatementRow, saysTrue: boolean): string {
  return saysTrue !== falseFirst(p, r) ? p.trueLabel : p.falseLabel;
}

/** The A/B gold answer of a row: `A` when the truthful letter is the first option's (`true_label`), else `B`. */
export function goldOf(p: PromptSetConfig, r: StatementRow): 'A' | 'B' {
  return r.truth !== falseFirst(p, r) ? 'A' : 'B';
}

export function render(p: PromptSetConfig, r: StatementRow, persona: string | undefined, label: string | undefined): string {
  return renderTemplate(p.template, templateVars(p, r, persona, label), `prompts ${p.name}`);
}

/** The placeholder values of a row: statement, persona and label when given, and the options in the row's order. */
export function templateVars(p: PromptSetConfig, r: StatementRow, persona: string | undefined, label: string | undefined): Record<string, string> {
  const vars: Record<string, string> = { statement: r.statement };
  if (persona !== undefined) vars['persona'] = persona;
  if (label !== undefined) vars['label'] = label;
  if (p.orderColumn !== undefined) {
    const ff = falseFirst(p, r);
    vars['option_a'] = ff ? p.falseText : p.trueText;
    vars['option_b'] = ff ? p.trueText : p.falseText;
  }
  return vars;
}

/** A statement as the tuned persona sees it: the set's negative persona when it has one (else none), no label. */
export function renderTarget(p: PromptSetConfig, r: StatementRow): string {
  return render(p, r, p.negativePersona, undefined);
}

/** One side of a contrastive pair, rendered with its persona and label. */
export function renderSide(p: PromptSetConfig, side: ContrastSide): string {
  return render(p, side.row, side.persona === 'positive' ? p.positivePersona : p.negativePersona, letterFor(p, side.row, side.label === 'true'));
}

/** Token ids and the anchor position (the last token when the prompt set names no anchor). */
export function anchored(s: Session, p: PromptSetConfig, text: string): { ids: number[]; position: number } {
  if (p.anchor === undefined) {
    const ids = s.tokenizer.encode(text);
    return { ids, position: ids.length - 1 + p.anchorOffset };
  }
  return anchor(s.tokenizer, text, p.anchor, p.anchorOffset);
}

/** The id of `label` as one token appended to `prompt`; throws when the tokenizer does not make it one token. */
export function answerId(s: Session, prompt: string, label: string): number {
  const a = s.tokenizer.encode(prompt);
  const b = s.tokenizer.encode(`${prompt} ${label}`);
  if (b.length !== a.length + 1 || a.some((x, i) => b[i] !== x)) {
    throw new Error(`the answer label "${label}" is not one token appended to the prompt in this tokenizer; use single-token labels such as A and B`);
  }
  return b[b.length - 1] as number;
}

/** The true and false labels' token ids. */
export function labelIds(s: Session, p: PromptSetConfig): { idTrue: number; idFalse: number } {
  return { idTrue: answerId(s, 'x', p.trueLabel), idFalse: answerId(s, 'x', p.falseLabel) };
}

/**
 * METHOD §4.2 `coronly`: cut both sides of every pair before `{label}` and keep the pair when each side gives
 * its own label the larger logit at the answer position. One flag per pair.
 */
export async function correctOnly(s: Session, p: PromptSetConfig, pairs: ContrastPair[], cancel: { signal?: AbortSignal }): Promise<boolean[]> {
  const { idTrue, idFalse } = labelIds(s, p);
  const answers = async (side: (x: ContrastPair) => ContrastSide): Promise<SideAnswer[]> => {
    const items: AbItem[] = pairs.map((x) => {
      const sd = side(x);
      const vars = templateVars(p, sd.row, sd.persona === 'positive' ? p.positivePersona : p.negativePersona, undefined);
      return { ids: s.tokenizer.encode(promptBeforeLabel(p.template, vars, `prompts ${p.name}`)), gold: sd.label === 'true' ? 'A' : 'B' };
    });
    // idTrue / idFalse are the first and second option letters; in an FT row the letter meaning True is the second.
    const rows = await abRows(s.model, items, idTrue, idFalse, cancel);
    return rows.map((r, i) =>
      falseFirst(p, side(pairs[i] as ContrastPair).row) ? { logitTrue: r.logitB, logitFalse: r.logitA } : { logitTrue: r.logitA, logitFalse: r.logitB },
    );
  };
  return correctPairs(pairs, await answers((x) => x.positive), await answers((x) => x.negative));
}
