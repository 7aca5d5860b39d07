import { useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { ProjectSummary } from '../bindings';
import { ProjectRow } from './ProjectRow';

/** From this many projects on, only the rows in view are rendered: a tenant with a thousand
 *  projects paints as fast as one with three, and keeps a thousand rows out of memory. */
export const WINDOWED_FROM = 60;

const ROW_ESTIMATE_PX = 58;

export function ProjectList({ rows, selected }: { rows: ProjectSummary[]; selected: number }) {
  if (rows.length < WINDOWED_FROM) {
    return (
      <>
        {rows.map((s, i) => (
          <ProjectRow key={s.project.id} summary={s} selected={i === selected} />
        ))}
      </>
    );
  }
  return <WindowedRows rows={rows} selected={selected} />;
}

function WindowedRows({ rows, selected }: { rows: ProjectSummary[]; selected: number }) {
  const scroller = useRef<HTMLDivElement>(null);
  // The virtualizer hands back functions by design; React Compiler rules do not apply here.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_ESTIMATE_PX,
    overscan: 6,
  });
  return (
    <div ref={scroller} data-testid="project-list-windowed" className="max-h-[calc(100vh-14rem)] overflow-y-auto">
      <div className="relative w-full" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const summary = rows[item.index];
          if (!summary) return null;
          return (
            <div
              key={summary.project.id}
              data-index={item.index}
              ref={virtualizer.measureElement}
              className="absolute top-0 left-0 w-full"
              style={{ transform: `translateY(${item.start}px)` }}
            >
              <ProjectRow summary={summary} selected={item.index === selected} />
            </div>
          );
        })}
      </div>
    </div>
  );
}
