/**
 * Time limits: how long a load may stall by default, and limits as timer delays.
 */

/** The default of `CreateOptions.pythonLoadStallMs`, and of every runtime file's download (ms). */
export const DEFAULT_LOAD_STALL_MS = 30_000;

/**
 * `ms` as a timer delay: timers take at most 2^31 - 1 ms (about 24.8 days) and fire at
 * once for more (Infinity included), so a longer time limit waits that long instead.
 */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), 2 ** 31 - 1);
}
