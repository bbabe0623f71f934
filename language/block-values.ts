/**
 * The lowered contents of one block (a section or a nested block such as `optimizer { }`): for every key the
 * entry that wrote it and its lowered value, with typed getters that fall back to the schema default. Section
 * builders, rules and editor features read values through it, so "written value or default" is decided in one
 * place. Non-goals: no validation (values arrive already checked by values.ts).
 */

import { Entry } from './ast';
import { BLOCK_ALIASES, BLOCK_NAMES, type ArchitectureFamily, type BlockName } from '../model/blocks';
import { KeySpec, findKey } from './schema';
import { Item, Lowered, loweredDefault } from './values';

export interface KeyedValue {
  readonly entry: Entry;
  readonly spec: KeySpec;
  /** Undefined when the written value was invalid (a diagnostic was reported). */
  readonly lowered: Lowered | undefined;
}

export class BlockValues {
  constructor(
    readonly keys: readonly KeySpec[],
    /** The entry that opened this block; undefined for the file's top level and for absent nested blocks. */
    readonly entry: Entry | undefined,
    private readonly values: ReadonlyMap<string, KeyedValue>,
    private readonly blocks: ReadonlyMap<string, BlockValues>,
  ) {}

  static empty(keys: readonly KeySpec[]): BlockValues {
    return new BlockValues(keys, undefined, new Map(), new Map());
  }

  /** Whether the key is written in the file (valid or not). */
  has(name: string): boolean {
    return this.values.has(name);
  }

  written(name: string): KeyedValue | undefined {
    return this.values.get(name);
  }

  entryOf(name: string): Entry | undefined {
    return this.values.get(name)?.entry;
  }

  allWritten(): IterableIterator<KeyedValue> {
    return this.values.values();
  }

  /** A nested block: the written one, or an empty one whose getters yield the defaults. */
  block(name: string): BlockValues {
    const b = this.blocks.get(name);
    if (b !== undefined) return b;
    const spec = findKey(this.keys, name);
    return BlockValues.empty(spec !== undefined && spec.type.kind === 'block' ? spec.type.keys : []);
  }

  nestedBlocks(): IterableIterator<[string, BlockValues]> {
    return this.blocks.entries();
  }

  /** The written value if valid, else the default (undefined when neither). */
  lowered(name: string): Lowered | undefined {
    const w = this.values.get(name);
    if (w?.lowered !== undefined) return w.lowered;
    const spec = findKey(this.keys, name);
    return spec !== undefined ? loweredDefault(spec) : undefined;
  }

  str(name: string): string | undefined {
    const v = this.lowered(name);
    return v?.kind === 'string' || v?.kind === 'path' || v?.kind === 'ref' || v?.kind === 'enum' ? v.value : undefined;
  }

  /** Every name of a `ref` value (a list for `many` refs), or undefined. */
  refs(name: string): readonly string[] | undefined {
    const v = this.lowered(name);
    return v?.kind === 'ref' ? v.values : undefined;
  }

  num(name: string): number | undefined {
    const v = this.lowered(name);
    return v?.kind === 'number' ? v.value : undefined;
  }

  bool(name: string): boolean | undefined {
    const v = this.lowered(name);
    return v?.kind === 'bool' ? v.value : undefined;
  }

  /**
   * An enum value narrowed to the literal union `allowed`. Every enum key has a schema default, so the first
   * allowed value is only returned for keys that are absent from the schema (a test keeps that from happening).
   */
  choice<T extends string>(name: string, allowed: readonly [T, ...T[]]): T {
    const v = this.str(name);
    return allowed.find((a) => a === v) ?? allowed[0];
  }

  /** A number that has a schema default (NaN only if the schema lacks one, which a test forbids). */
  number(name: string): number {
    return this.num(name) ?? Number.NaN;
  }

  /** A boolean that has a schema default. */
  flag(name: string): boolean {
    return this.bool(name) ?? false;
  }

  /** A string that has a schema default or is required (empty only for an invalid file, never lowered). */
  text(name: string): string {
    return this.str(name) ?? '';
  }

  layers(name: string): readonly number[] | 'all' | undefined {
    const v = this.lowered(name);
    return v?.kind === 'layers' ? v.value : undefined;
  }

  layerItems(name: string): readonly Item<number>[] {
    const v = this.written(name)?.lowered;
    return v?.kind === 'layers' ? v.items : [];
  }

  offsets(name: string): readonly number[] | undefined {
    const v = this.lowered(name);
    return v?.kind === 'offsets' ? v.value : undefined;
  }

  blockNames(name: string): readonly BlockName[] | 'all' | undefined {
    const v = this.lowered(name);
    return v?.kind === 'blocks' ? v.value : undefined;
  }

  /**
   * The generic blocks as a model of `family` reads the list: an architecture spelling means what it means in
   * that family (`post_attention_layernorm` is mlp_norm in Llama, attn_post_norm in Gemma). Without a family, the
   * spelling's first family's meaning (blockNames).
   */
  blockNamesFor(name: string, family: ArchitectureFamily | undefined): readonly BlockName[] | 'all' | undefined {
    const v = this.lowered(name);
    if (v?.kind !== 'blocks') return undefined;
    if (v.value === 'all' || family === undefined) return v.value;
    const set = new Set(v.items.flatMap((i) => (i.family !== undefined ? (BLOCK_ALIASES[family][i.word] ?? i.value) : i.value)));
    return BLOCK_NAMES.filter((b) => set.has(b));
  }

  numbers(name: string): readonly number[] | undefined {
    const v = this.lowered(name);
    return v?.kind === 'numbers' ? v.value : undefined;
  }

  enums(name: string): readonly string[] | undefined {
    const v = this.lowered(name);
    return v?.kind === 'enums' ? v.value : undefined;
  }
}
