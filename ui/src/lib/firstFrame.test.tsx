import { describe, expect, it, vi } from 'vitest';
import { act } from '@testing-library/react';
import { createRoot } from 'react-dom/client';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { captureFirstFrame, hasFirstFrame, showFirstFrame } from './firstFrame';

vi.mock('../ipc');

function pageWithFrame(): HTMLElement {
  const root = document.createElement('div');
  root.innerHTML = '<div data-first-frame inert aria-hidden="true"><main>Kept dashboard</main></div>';
  document.body.appendChild(root);
  return root;
}

describe('the first frame', () => {
  it('is replaced by the live screen in React’s first commit', () => {
    const root = pageWithFrame();
    expect(hasFirstFrame()).toBe(true);
    act(() => createRoot(root).render(<main>Live dashboard</main>));
    expect(root.querySelector('[data-first-frame]')).toBeNull();
    expect(root).toHaveTextContent(/^Live dashboard$/);
    expect(hasFirstFrame()).toBe(false);
    root.remove();
  });

  it('shows the window and tells the shell once it is painted', async () => {
    mockIpc();
    const root = pageWithFrame();
    await showFirstFrame();
    expect(ipc.showWindow).toHaveBeenCalledTimes(1);
    expect(ipc.reportPainted).toHaveBeenCalledWith('first frame', 0, expect.any(Number));
    root.remove();
  });

  it('waits for the window to have a size, asking for frames, since no resize may come', async () => {
    mockIpc();
    vi.mocked(ipc.reportPainted).mockClear();
    const width = Object.getOwnPropertyDescriptor(window, 'innerWidth');
    Object.defineProperty(window, 'innerWidth', { value: 0, configurable: true });
    const root = pageWithFrame();
    try {
      const painted = showFirstFrame();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ipc.reportPainted).not.toHaveBeenCalled();
      Object.defineProperty(window, 'innerWidth', { value: 1280, configurable: true });
      await painted;
      expect(ipc.reportPainted).toHaveBeenCalledWith('first frame', 0, expect.any(Number));
    } finally {
      if (width) Object.defineProperty(window, 'innerWidth', width);
      root.remove();
    }
  });

  it('says nothing was painted when the app replaced the frame first', async () => {
    mockIpc();
    vi.mocked(ipc.reportPainted).mockClear();
    const root = pageWithFrame();
    const painted = showFirstFrame();
    root.remove();
    await painted;
    expect(ipc.reportPainted).not.toHaveBeenCalled();
  });

  it('is not kept from a list scrolled away from its top, whose rows are placed for its offset', () => {
    const root = document.createElement('div');
    root.innerHTML = '<div data-first-frame-placed-rows><div style="transform: translateY(560px)">Row 11</div></div>';
    const scroller = root.firstElementChild as HTMLElement;
    expect(captureFirstFrame(root)).toContain('Row 11');
    Object.defineProperty(scroller, 'scrollTop', { value: 560 });
    expect(captureFirstFrame(root)).toBeNull();
  });

  it('leaves out what only held when it was kept, and the live screen’s test ids', () => {
    const root = document.createElement('div');
    root.innerHTML =
      '<footer><span data-testid="status-link" data-first-frame-omit>Live</span><span data-testid="status-last-sync">Synced 2 min ago</span></footer>';
    expect(captureFirstFrame(root)).toBe('<footer><span>Synced 2 min ago</span></footer>');
    expect(root.querySelector('[data-testid="status-link"]')).not.toBeNull();
  });
});
