import { beforeEach, describe, expect, it, vi } from 'vitest';
import { screen } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { summary } from '../test/fixtures';
import { Projects } from './Projects';

vi.mock('../ipc');

describe('Projects', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it('puts failed projects first, then the live ones, by name within each', async () => {
    vi.mocked(ipc.dashboard).mockResolvedValue([
      summary({}, { id: 'prj_a', name: 'Autumn Launch', status: 'completed' }),
      summary({}, { id: 'prj_b', name: 'Brand Refresh', status: 'stopped' }),
      summary({}, { id: 'prj_c', name: 'Catalogue Ads', status: 'active' }),
      summary({}, { id: 'prj_d', name: 'Diwali Promo', status: 'failed' }),
      summary({}, { id: 'prj_e', name: 'Easter Email', status: 'paused' }),
    ]);
    renderAt(<Projects />);
    const links = await screen.findAllByRole('link');
    expect(links.map((l) => l.getAttribute('href'))).toEqual([
      '/projects/prj_d',
      '/projects/prj_c',
      '/projects/prj_e',
      '/projects/prj_b',
      '/projects/prj_a',
    ]);
    expect(links[0]).toHaveTextContent('Failed');
  });
});
