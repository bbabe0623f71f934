/**
 * Prompt sets as the sections use them: reading a set's statements, rendering its template with a persona and a
 * label, tokenising with the anchor position, and the answer-label token ids. Pure functions of the RunConfig and
 * a tokenizer session. Non-goals: templates and CSV parsing themselves (engine/method/prompts.ts).
 */
import * as fs from 'node:fs';
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

export function readRows(p: PromptSetConfig): StatementRow[] {
  const rows = parseStatementsCsv(fs.readFileSync(p.data, 'utf8'), p.data, { text: p.textColumn, label: p.labelColumn });
  return p.limit !== undefined ? rows.slice(0, p.limit) : rows;
}

export function render(p: PromptSetConfig, r: StatementRow, persona: string | undefined, label: string | undefined): string {
  const vars: Record<string, string> = { statement: r.statement };
  if (persona !== undefined) vars['persona'] = persona;
  if (label !== undefined) vars['label'] = label;
  return renderTemplate(p.template, vars, `prompts ${p.name}`);
}

/** A statement as the tuned persona sees it: the set's negative persona when it has one (else none), no label. */
export function renderTarget(p: PromptSetConfig, r: StatementRow): string {
  return render(p, r, p.negativePersona, undefined);
}

/** One side of a contrastive pair, rendered with its persona and label. */
export function renderSide(p: PromptSetConfig, side: ContrastSide): string {
  return render(p, side.row, side.persona === 'positive' ? p.positivePersona : p.negativePersona, side.label === 'true' ? p.trueLabel : p.falseLabel);
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
      const vars: Record<string, string> = { statement: sd.row.statement };
      const persona = sd.persona === 'positive' ? p.positivePersona : p.negativePersona;
      if (persona !== undefined) vars['persona'] = persona;
      return { ids: s.tokenizer.encode(promptBeforeLabel(p.template, vars, `prompts ${p.name}`)), gold: sd.label === 'true' ? 'A' : 'B' };
    });
    const rows = await abRows(s.model, items, idTrue, idFalse, cancel);
    return rows.map((r) => ({ logitTrue: r.logitA, logitFalse: r.logitB }));
  };
  return correctPairs(pairs, await answers((x) => x.positive), await answers((x) => x.negative));
}
