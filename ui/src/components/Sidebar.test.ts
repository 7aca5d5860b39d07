import { describe, expect, it } from 'vitest';
import { summary } from '../test/fixtures';
import { SIDEBAR_PROJECTS, sidebarProjects } from './Sidebar';

describe('sidebarProjects', () => {
  it('keeps a short list: waiting projects first, then the most recently active', () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      summary(
        { pending_approvals: i === 39 ? 3 : 0, last_activity: `2026-11-28T10:${String(i).padStart(2, '0')}:00Z` },
        { id: `prj_${i}`, name: `Project ${i}` },
      ),
    );
    const shown = sidebarProjects(many);
    expect(shown).toHaveLength(SIDEBAR_PROJECTS);
    expect(shown[0]?.project.id).toBe('prj_39');
    expect(shown[1]?.project.id).toBe('prj_38');
  });

  it('puts projects without activity after every active one', () => {
    const many = Array.from({ length: 20 }, (_, i) =>
      summary(
        { pending_approvals: 0, last_activity: i % 2 ? null : `2026-11-28T10:${String(i).padStart(2, '0')}:00.000000Z` },
        { id: `prj_${i}`, name: `Project ${i}` },
      ),
    );
    const shown = sidebarProjects(many).map((s) => s.project.id);
    expect(shown.slice(0, 10)).toEqual([18, 16, 14, 12, 10, 8, 6, 4, 2, 0].map((i) => `prj_${i}`));
    expect(shown.slice(10).every((id) => Number(id.slice(4)) % 2 === 1)).toBe(true);
  });

  it('shows every project of a small organisation in its own order', () => {
    const few = [summary({}, { id: 'a', name: 'A' }), summary({}, { id: 'b', name: 'B' })];
    expect(sidebarProjects(few).map((s) => s.project.id)).toEqual(['a', 'b']);
  });
});
