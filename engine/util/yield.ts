/**
 * Lets pending macrotasks run. Backends such as wasm and cpu resolve `await tensor.data()` as a microtask, so a
 * training loop never returns to the event loop by itself, and a cancel request arriving over IPC or a SIGINT
 * would only be seen after the loop ends. Loops call this once per step, before they check their AbortSignal.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
