import { describe, expect, it, vi } from 'vitest';
import { screen } from '@testing-library/react';
import { Profiler } from 'react';
import { renderAt } from '../test/render';
import { summary } from '../test/fixtures';
import { ProjectList } from './ProjectList';
import { TABLE_ROW_PX, TABLE_ROW_QUERY } from './ProjectRow';

const projects = (n: number) => Array.from({ length: n }, (_, i) => summary({}, { id: `prj_${i}`, name: `Project ${i}` }));

/** A window wide enough for the table layout (jsdom's is 1024 × 768). */
function wideWindow() {
  const narrow = window.matchMedia;
  vi.spyOn(window, 'matchMedia').mockImplementation((query: string) => ({
    ...narrow(query),
    matches: query === TABLE_ROW_QUERY,
  }));
}

/** The list as WebKit lays it out in that window: 768 px less the page around it. */
function listLaidOut() {
  vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(544);
  vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(1024);
}

/** Renders the list; how many rows were on the page at each of React's commits of it. */
function renderCountingRowsAtEachCommit(rows: number): number[] {
  const counts: number[] = [];
  renderAt(
    <Profiler id="list" onRender={() => counts.push(document.querySelectorAll('[data-testid=project-row]').length)}>
      <ProjectList rows={projects(rows)} selected={0} />
    </Profiler>,
  );
  return counts;
}

describe('ProjectList', () => {
  it('places the rows in view in its first render, a table row apart, before any layout', () => {
    wideWindow();
    listLaidOut();
    // 544 px: ten rows of 57, and six more below, from the first commit on: none without rows,
    // and no other range once the list or its rows are measured.
    expect(renderCountingRowsAtEachCommit(1000).every((n) => n === 16)).toBe(true);
    const rows = screen.getAllByTestId('project-row').map((row) => row.closest<HTMLElement>('[data-index]')!);
    expect(rows.slice(0, 3).map((row) => row.style.transform)).toEqual([
      'translateY(0px)',
      `translateY(${TABLE_ROW_PX}px)`,
      `translateY(${2 * TABLE_ROW_PX}px)`,
    ]);
  });

  it('rules every row but the last', () => {
    renderAt(<ProjectList rows={projects(3)} selected={0} />);
    const ruled = screen.getAllByRole('listitem').map((item) => item.classList.contains('border-b'));
    expect(ruled).toEqual([true, true, false]);
  });

  it('rules the rows of a long list too', () => {
    wideWindow();
    listLaidOut();
    renderCountingRowsAtEachCommit(1000);
    const items = screen.getAllByRole('listitem');
    expect(items).toHaveLength(16);
    expect(items.every((item) => item.classList.contains('border-b'))).toBe(true);
  });
});
