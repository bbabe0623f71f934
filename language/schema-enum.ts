/**
 * Schema enumerations from the contract: the values come from an `as const` array of protocol/contract.ts, the
 * docs from a record that must name every value (a value added to the contract without a doc here is a compile
 * error, and a doc for a value the contract lacks is one too). Separate from schema.ts so that the section tables
 * can import it without a cycle.
 */
import type { EnumValueSpec } from './schema';

export function enumValues<T extends string>(values: readonly T[], docs: { readonly [K in T]: string }): readonly EnumValueSpec[] {
  return values.map((name) => ({ name, doc: docs[name] }));
}
