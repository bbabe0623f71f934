/** Timing shared by the benchmark scripts (scripts/bench.ts, scripts/device-bench.ts). */

/**
 * The median wall time of `n` runs of `f` in ms, after one warm-up run (kernel compilation, shader and buffer
 * pools, XNNPACK packing); `afterEach` runs after every timed run (e.g. to sample memory).
 */
export async function medianMs(n: number, f: () => Promise<void>, afterEach?: () => void): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
    afterEach?.();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}
