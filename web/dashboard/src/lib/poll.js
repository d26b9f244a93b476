// Polling a project's state while the pipeline works on it: fast while something is happening, slower
// after errors, stopped when the state settles or the page goes away.

/** States the pipeline moves out of by itself. */
export const BUSY_STATUSES = new Set(['CREATING', 'BUILDING', 'DEPLOYING', 'DELETING']);

export const isBusy = (project) => Boolean(project && BUSY_STATUSES.has(project.status));

/**
 * Calls `load` until `done(result)` or `stop()`; `onResult`/`onError` see every outcome.
 * Errors do not end polling (a dropped connection should not freeze the page); the wait grows.
 * @template T
 * @param {{ load: () => Promise<T>, done?: (result: T) => boolean, onResult?: (result: T) => void,
 *   onError?: (error: unknown) => void, interval?: number, maxInterval?: number,
 *   sleep?: (ms: number) => Promise<void> }} options
 * @returns {{ stop: () => void, finished: Promise<void> }}
 */
export function poll({
  load,
  done = () => false,
  onResult = () => {},
  onError = () => {},
  interval = 3000,
  maxInterval = 30000,
  sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}) {
  let stopped = false;
  const finished = (async () => {
    let wait = interval;
    while (!stopped) {
      try {
        const result = await load();
        if (stopped) return;
        onResult(result);
        if (done(result)) return;
        wait = interval;
      } catch (error) {
        if (stopped) return;
        onError(error);
        if (error && error.status === 401) return; // signed out: polling cannot recover
        wait = Math.min(wait * 2, maxInterval);
      }
      await sleep(wait);
    }
  })();
  return { stop: () => { stopped = true; }, finished };
}
