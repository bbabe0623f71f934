/**
 * Statistics for evaluation reports: Wilson intervals, the paired bootstrap (and the perplexity comparison built on
 * it), and A/B metrics with the response bias split out. Pure functions over host numbers; seeded where random.
 *
 * Non-goals: a general statistics library; anything needing a tensor backend.
 */
export { wilson, Z95, type Proportion } from './wilson';
export {
  pairedBootstrap,
  perplexityComparison,
  quantileSorted,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  AUTO_MIN_BLOCKS,
  type BootstrapUnit,
  type PairedBootstrapOptions,
  type PairedBootstrapResult,
  type PerplexityComparison,
} from './bootstrap';
export { abMetrics, probA, type AbGroupMetrics, type AbLabel, type AbMetrics, type AbRow } from './ab';
