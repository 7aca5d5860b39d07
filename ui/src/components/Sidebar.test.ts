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

  it('shows every project of a small organisation in its own order', () => {
    const few = [summary({}, { id: 'a', name: 'A' }), summary({}, { id: 'b', name: 'B' })];
    expect(sidebarProjects(few).map((s) => s.project.id)).toEqual(['a', 'b']);
  });
});
