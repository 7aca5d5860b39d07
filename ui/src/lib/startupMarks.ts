/**
 * When the launch reached each of its steps inside the page, in ms since the page started
 * loading (`performance.now()`). Sent to the shell with the first paint, so the desktop bench
 * can say where the page's share of a launch goes (`SPARTEX_BENCH_VERBOSE=1`).
 */
const reached = new Map<string, number>();

/** Notes the first time `step` is reached; later calls keep the first time. */
export function markStartup(step: string): void {
  if (!reached.has(step)) reached.set(step, Math.round(performance.now()));
}

/** `step=ms` pairs in the order they were reached, e.g. `script=41 feed=63 dashboard=240`. */
export function startupMarks(): string {
  return [...reached.entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([step, ms]) => `${step}=${ms}`)
    .join(' ');
}
