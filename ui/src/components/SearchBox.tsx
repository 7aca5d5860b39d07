import { useEffect, useId, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import type { SearchHit } from '../bindings';
import { useSearch } from '../state/queries';
import { cx } from '../lib/cx';
import { SearchIcon, XIcon } from './Icons';

const KIND_WORD: Record<string, string> = {
  project: 'Project',
  task: 'Task',
  approval: 'Approval',
  message: 'Message',
};

export function pathForHit(hit: SearchHit): string {
  if (hit.kind === 'approval') return `/approvals/${hit.id}`;
  if (hit.kind === 'project') return `/projects/${hit.id}`;
  return `/projects/${hit.project_id}`;
}

function useDebounced(value: string, ms: number): string {
  const [out, setOut] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setOut(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return out;
}

/** Header search over the local cache (projects, tasks, approvals, messages).
 *  Ctrl/⌘+K or "/" focuses it; ↑/↓ choose; Enter opens; Esc closes. */
function SearchField({ autoFocus, onDone }: { autoFocus?: boolean; onDone?: () => void }) {
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const query = useDebounced(text, 120);
  const { data: hits, isFetching } = useSearch(query);
  const navigate = useNavigate();
  const inputRef = useRef<HTMLInputElement>(null);
  const listId = useId();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable);
      if ((e.key === 'k' && (e.metaKey || e.ctrlKey)) || (e.key === '/' && !typing)) {
        e.preventDefault();
        inputRef.current?.focus();
        setOpen(true);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const results = query.trim() ? (hits ?? []) : [];
  const go = (hit: SearchHit | undefined) => {
    if (!hit) return;
    void navigate(pathForHit(hit));
    setText('');
    setOpen(false);
    inputRef.current?.blur();
    onDone?.();
  };
  const show = open && text.trim().length > 0;

  return (
    <div className="relative w-full max-w-md">
      <SearchIcon className="pointer-events-none absolute top-1/2 left-2.5 -translate-y-1/2 text-faint" />
      <input
        ref={inputRef}
        type="search"
        role="combobox"
        aria-label="Search projects, tasks, approvals and messages"
        aria-expanded={show}
        aria-controls={listId}
        aria-activedescendant={show && results[active] ? `${listId}-${active}` : undefined}
        autoFocus={autoFocus}
        placeholder="Search…  (Ctrl K)"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((i) => Math.min(i + 1, Math.max(results.length - 1, 0)));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((i) => Math.max(i - 1, 0));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            go(results[active]);
          } else if (e.key === 'Escape') {
            setText('');
            setOpen(false);
            e.currentTarget.blur();
            onDone?.();
          }
        }}
        className="h-11 w-full rounded-md border border-line bg-canvas pr-3 pl-8 text-sm placeholder:text-faint focus:border-accent focus:outline-none sm:h-8"
      />
      {show && (
        <ul
          id={listId}
          role="listbox"
          aria-label="Search results"
          className="absolute top-full right-0 left-0 z-40 mt-1 max-h-96 overflow-y-auto rounded-lg border border-line bg-surface p-1 shadow-xl"
        >
          {results.length === 0 && (
            <li className="px-3 py-2 text-sm text-muted">{isFetching ? 'Searching…' : `Nothing in the cache matches “${text.trim()}”.`}</li>
          )}
          {results.map((hit, i) => (
            <li
              key={`${hit.kind}-${hit.id}`}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => go(hit)}
              onMouseEnter={() => setActive(i)}
              className={cx('cursor-pointer rounded-md px-3 py-2', i === active && 'bg-raised')}
            >
              <div className="flex items-center gap-2 text-sm">
                <span className="w-16 shrink-0 text-xs text-faint">{KIND_WORD[hit.kind] ?? hit.kind}</span>
                <span className="truncate font-medium">{hit.title}</span>
              </div>
              {hit.snippet && <p className="truncate pl-18 text-xs text-muted">{hit.snippet}</p>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function SearchBox({ compact = false }: { compact?: boolean }) {
  const [open, setOpen] = useState(false);
  if (!compact) return <SearchField />;
  return (
    <>
      <button
        type="button"
        aria-label="Search"
        onClick={() => setOpen(true)}
        className="flex h-11 w-11 items-center justify-center rounded-md text-muted hover:bg-raised"
      >
        <SearchIcon size={18} />
      </button>
      {open && (
        <div className="fixed inset-x-0 top-0 z-40 flex items-center gap-2 border-b border-line bg-surface p-2 shadow-lg">
          <SearchField autoFocus onDone={() => setOpen(false)} />
          <button
            type="button"
            aria-label="Close search"
            onClick={() => setOpen(false)}
            className="flex h-11 w-11 shrink-0 items-center justify-center rounded-md text-muted hover:bg-raised"
          >
            <XIcon size={18} />
          </button>
        </div>
      )}
    </>
  );
}
