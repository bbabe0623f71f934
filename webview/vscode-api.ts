/**
 * Typed access to the webview host. `acquireVsCodeApi()` may be called only once per page, so this module calls
 * it once and hands out the same object. Outside VS Code (a plain browser, a test page without a stub) a fallback
 * keeps state in sessionStorage (so a reload behaves like VS Code re-showing a panel) and logs posted messages.
 *
 * Only view settings go into `setState` (log scale, sort column, selected heatmap): the data belongs to the
 * extension, which replays it in a `snapshot` whenever the panel becomes visible again.
 */

import type { PanelMessage } from '../protocol/webview';

export interface VsCodeApi<State> {
  postMessage(message: PanelMessage): void;
  getState(): unknown;
  setState(state: State): void;
}

interface RawVsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

type HostGlobals = typeof globalThis & {
  acquireVsCodeApi?: () => RawVsCodeApi;
  /** Messages posted through the fallback, for inspection in a plain browser's console. */
  __rtunePosted?: unknown[];
};

const STATE_KEY = 'rtune.webview.state';

function fallbackApi(): RawVsCodeApi {
  const g = globalThis as HostGlobals;
  const posted: unknown[] = (g.__rtunePosted = []);
  let memoryState: unknown;
  return {
    postMessage(message) {
      posted.push(message);
      console.info('[rtune webview] postMessage (no VS Code host):', message);
    },
    getState() {
      try {
        const s = sessionStorage.getItem(STATE_KEY);
        return s === null ? memoryState : JSON.parse(s);
      } catch {
        return memoryState;
      }
    },
    setState(state) {
      memoryState = state;
      try {
        sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
      } catch {
        // sessionStorage is unavailable on opaque origins; memory is enough there.
      }
    },
  };
}

let raw: RawVsCodeApi | undefined;

export function vscodeApi<State>(): VsCodeApi<State> {
  if (!raw) {
    const acquire = (globalThis as HostGlobals).acquireVsCodeApi;
    raw = typeof acquire === 'function' ? acquire() : fallbackApi();
  }
  return raw as VsCodeApi<State>;
}
