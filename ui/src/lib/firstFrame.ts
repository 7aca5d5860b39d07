/**
 * The launch's first frame (`src-tauri/src/first_frame.rs`): the shell puts the dashboard as
 * last seen into the page's HTML, so the window shows it before this bundle has been parsed and
 * React has rendered. The frame is inert; React's first commit replaces it with the live screen.
 *
 * Kept markup leaves out what was only true when it was kept (`data-first-frame-omit`: the
 * link, times relative to now) and the test ids, which belong to the live screen; a list whose
 * rows are placed for its scroll offset (`data-first-frame-placed-rows`) is kept at its top only.
 */
import * as ipc from '../ipc';
import { markStartup } from './startupMarks';

const FRAME = '[data-first-frame]';
const OMIT = '[data-first-frame-omit]';

/** A scroller whose rows are placed for its scroll offset: kept only when at the top. */
const PLACED_ROWS = '[data-first-frame-placed-rows]';

/** How long the frame asks for the window's size (~2 s at 60 Hz; the app mounts after 1 s). */
const ASK_FOR_SIZE_FRAMES = 120;

/** Whether this launch's page came with a first frame. */
export function hasFirstFrame(doc: Document = document): boolean {
  return doc.querySelector(FRAME) !== null;
}

/** Shows the window, which starts hidden, and resolves once the frame has been painted at the
 *  window's size (a hidden window lays the page out at 0 × 0). */
export function showFirstFrame(): Promise<void> {
  void ipc.showWindow().catch(() => undefined);
  return new Promise((resolve) => {
    const painted = () =>
      // Two frames: the first lays the frame out at its size, the second follows its paint.
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          // Unless the app mounted meanwhile (its fallback) and replaced the frame.
          if (hasFirstFrame()) {
            markStartup('first frame');
            void ipc.reportPainted('first frame', 0, performance.now()).catch(() => undefined);
          }
          resolve();
        }),
      );
    // A window shown hidden-first gives the page its size with a rendering update, and a page
    // with nothing else to draw asks for none (nor is a resize event sure to come): without
    // frames asked for here, WebKitGTK left the page at 0 × 0 until the app mounted a second
    // later (measured, release build).
    let framesLeft = ASK_FOR_SIZE_FRAMES;
    const sized = () => {
      if (window.innerWidth > 0) painted();
      else if (framesLeft-- > 0) requestAnimationFrame(sized);
    };
    sized();
  });
}

/** The markup to keep of `root` as it is painted, or null when it would not paint the same. */
export function captureFirstFrame(root: HTMLElement): string | null {
  if ([...root.querySelectorAll(PLACED_ROWS)].some((scroller) => scroller.scrollTop > 0)) return null;
  const copy = root.cloneNode(true) as HTMLElement;
  for (const stale of copy.querySelectorAll(OMIT)) stale.remove();
  for (const tested of copy.querySelectorAll('[data-testid]')) tested.removeAttribute('data-testid');
  return copy.innerHTML;
}
