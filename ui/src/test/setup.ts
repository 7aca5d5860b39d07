import '@testing-library/jest-dom/vitest';
import { afterEach, vi } from 'vitest';
import { cleanup } from '@testing-library/react';
import { useDecisions } from '../state/decisions';
import { useToasts } from '../state/toasts';
import { useSync } from '../state/sync';

afterEach(() => {
  cleanup();
  // App-wide stores outlive a render: start every test from scratch.
  useDecisions.setState({ notes: {} });
  useToasts.setState({ toasts: [] });
  useSync.setState({ progress: null });
  localStorage.clear();
  setPhone(false);
});

// jsdom has no layout: give it the browser APIs the widgets touch.
let phone = false;
/** Makes `(max-width: 639.98px)` match, i.e. the phone layout. */
export function setPhone(on: boolean) {
  phone = on;
}
Object.defineProperty(window, 'matchMedia', {
  writable: true,
  value: (query: string) => ({
    matches: query.includes('max-width') ? phone : false,
    media: query,
    onchange: null,
    addEventListener: vi.fn(),
    removeEventListener: vi.fn(),
    addListener: vi.fn(),
    removeListener: vi.fn(),
    dispatchEvent: vi.fn(),
  }),
});

class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= ResizeObserverStub as unknown as typeof ResizeObserver;
Element.prototype.scrollIntoView ??= function scrollIntoView() {};
Element.prototype.hasPointerCapture ??= () => false;
Element.prototype.setPointerCapture ??= () => {};
Element.prototype.releasePointerCapture ??= () => {};
