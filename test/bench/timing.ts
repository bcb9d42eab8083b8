/** Timing for the benchmarks: medians of wall time, after a warm-up run. Figures only, never asserts. */

export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** Median wall time in ms of `runs` calls of `once` (after one unmeasured warm-up call); every call must succeed. */
export async function timed(runs: number, once: (index: number) => Promise<{ code: number | null; stderr: string }>): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index <= runs; index++) {
    const started = process.hrtime.bigint();
    const result = await once(index);
    if (index > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (result.code !== 0) throw new Error(`run ${index} exited ${result.code}: ${result.stderr}`);
  }
  return median(times);
}
