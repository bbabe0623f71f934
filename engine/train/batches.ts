/**
 * Training batches by epoch: every epoch is one pass over the examples in a fresh seeded shuffled order, cut
 * into consecutive batches of `size`; when the examples do not divide evenly, the epoch's last batch is smaller
 * (every example is seen exactly once per epoch). Non-goals: padding and tensors (model/batch.ts).
 */
import { Rng } from '../util/random';

export class EpochBatches<T> {
  private readonly rng: Rng;
  private order: number[] = [];
  private at = 0;
  private epochIndex = -1;
  /** Batches in one epoch. */
  readonly perEpoch: number;

  constructor(
    private readonly items: readonly T[],
    private readonly size: number,
    seed: number,
  ) {
    if (items.length === 0) throw new Error('no training examples: the prompt set is empty after the held-out split');
    if (!(size >= 1)) throw new Error(`batch must be at least 1 (got ${size})`);
    this.rng = new Rng(seed);
    this.perEpoch = Math.ceil(items.length / size);
  }

  /** Epoch of the next batch, with the fraction of it done (0 at its first batch). */
  get epoch(): number {
    if (this.at >= this.order.length) return this.epochIndex + 1;
    return this.epochIndex + this.at / this.order.length;
  }

  next(): T[] {
    if (this.at >= this.order.length) {
      this.order = this.rng.shuffle(Array.from(this.items, (_, i) => i));
      this.at = 0;
      this.epochIndex++;
    }
    const ids = this.order.slice(this.at, this.at + this.size);
    this.at += ids.length;
    return ids.map((i) => this.items[i] as T);
  }
}
