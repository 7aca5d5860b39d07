import { useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { ProjectSummary } from '../bindings';
import { useMediaQuery } from '../state/media';
import { ProjectRow, TABLE_ROW_PX, TABLE_ROW_QUERY } from './ProjectRow';

/** From this many projects on, only the rows in view are rendered: a tenant with a thousand
 *  projects paints as fast as one with three, and keeps a thousand rows out of memory. */
export const WINDOWED_FROM = 60;

/** A phone's or a narrow window's card, before it is measured. */
const CARD_ESTIMATE_PX = 131;

/** The list's height cap, `calc(100vh - 14rem)` below, before it has been laid out. */
const LIST_MAX_HEIGHT_OFFSET_PX = 224;

export function ProjectList({ rows, selected }: { rows: ProjectSummary[]; selected: number }) {
  if (rows.length < WINDOWED_FROM) {
    return (
      <>
        {rows.map((s, i) => (
          <ProjectRow key={s.project.id} summary={s} selected={i === selected} ruled={i < rows.length - 1} />
        ))}
      </>
    );
  }
  return <WindowedRows rows={rows} selected={selected} />;
}

function WindowedRows({ rows, selected }: { rows: ProjectSummary[]; selected: number }) {
  const scroller = useRef<HTMLDivElement>(null);
  // Table rows have one height, so the first render places every row in view and nothing is
  // measured; cards are measured. The initial rect is the list's height cap: the first render
  // already has the rows, instead of rendering none, laying the page out, and rendering again.
  const table = useMediaQuery(TABLE_ROW_QUERY);
  // The virtualizer hands back functions by design; React Compiler rules do not apply here.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => (table ? TABLE_ROW_PX : CARD_ESTIMATE_PX),
    initialRect: { width: window.innerWidth, height: Math.max(0, window.innerHeight - LIST_MAX_HEIGHT_OFFSET_PX) },
    overscan: 6,
  });
  return (
    <div ref={scroller} data-testid="project-list-windowed" data-first-frame-placed-rows className="max-h-[calc(100vh-14rem)] overflow-y-auto">
      <div className="relative w-full" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const summary = rows[item.index];
          if (!summary) return null;
          return (
            <div
              key={summary.project.id}
              data-index={item.index}
              ref={table ? undefined : virtualizer.measureElement}
              className="absolute top-0 left-0 w-full"
              style={{ transform: `translateY(${item.start}px)` }}
            >
              <ProjectRow summary={summary} selected={item.index === selected} ruled={item.index < rows.length - 1} />
            </div>
          );
        })}
      </div>
    </div>
  );
}
