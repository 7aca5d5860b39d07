import type { ReactElement } from 'react';
import { render } from '@testing-library/react';
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { makeQueryClient } from '../state/queryClient';

/** Renders `ui` at `path` (matching `pattern`) with a fresh query client and router, into
 *  `container` if given. */
export function renderAt(
  ui: ReactElement,
  { path = '/', pattern = '*', client, container }: { path?: string; pattern?: string; client?: QueryClient; container?: HTMLElement } = {},
) {
  const queryClient = client ?? makeQueryClient();
  const router = createMemoryRouter([{ path: pattern, element: ui }], { initialEntries: [path] });
  const result = render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
    container ? { container } : undefined,
  );
  return { ...result, client: queryClient, router };
}
