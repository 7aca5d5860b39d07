import { useCallback, useEffect, useState } from 'react';

function typingIn(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable;
}

/** Linear-style list keys: j / k (or ↓ / ↑) move, Enter opens, Esc calls `onEscape`.
 *  Ignored while typing in a field or when a dialog is open. With `ids` (the rows' in their
 *  order), the selection stays on its row when the list reorders under it, as the dashboard's
 *  does when a project's urgency changes; a row that left gives its place to the next. */
export function useListKeys({
  count,
  onOpen,
  onEscape,
  initial = -1,
  ids,
}: {
  count: number;
  onOpen: (index: number) => void;
  onEscape?: () => void;
  initial?: number;
  ids?: readonly string[];
}): [number, (index: number) => void] {
  const [chosen, setChosen] = useState<{ index: number; id?: string }>({ index: initial });
  const moved = chosen.id === undefined || !ids ? -1 : ids.indexOf(chosen.id);
  const selected = moved >= 0 ? moved : chosen.index;
  const clamped = count === 0 ? -1 : Math.min(selected, count - 1);
  const setSelected = useCallback((index: number) => setChosen({ index, id: ids?.[index] }), [ids]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.metaKey || e.ctrlKey || e.altKey || typingIn(e.target)) return;
      if (document.querySelector('[role="dialog"], [role="menu"]')) return;
      if (e.key === 'j' || e.key === 'ArrowDown') {
        if (count === 0) return;
        e.preventDefault();
        setSelected(Math.min(clamped + 1, count - 1));
      } else if (e.key === 'k' || e.key === 'ArrowUp') {
        if (count === 0) return;
        e.preventDefault();
        setSelected(Math.max(clamped - 1, 0));
      } else if (e.key === 'Enter' && clamped >= 0) {
        const tag = (e.target as HTMLElement | null)?.tagName;
        if (tag === 'BUTTON' || tag === 'A') return; // the focused control handles it
        e.preventDefault();
        onOpen(clamped);
      } else if (e.key === 'Escape' && onEscape) {
        onEscape();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [count, clamped, onOpen, onEscape, setSelected]);

  return [clamped, setSelected];
}
