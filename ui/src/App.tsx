import { useState } from 'react';
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { createHashRouter, RouterProvider, type RouteObject } from 'react-router';
import * as Tooltip from '@radix-ui/react-tooltip';
import { makeQueryClient } from './state/queryClient';
import { Root } from './components/Root';
import { Layout } from './components/Layout';
import { SignIn } from './screens/SignIn';
import { Dashboard } from './screens/Dashboard';
import { NotFound } from './screens/NotFound';

const approvals = async () => ({ Component: (await import('./screens/Approvals')).Approvals });

/** Routes → screens. Deep links arrive as `/approvals/ID` and `/projects/ID`. */
export const routes: RouteObject[] = [
  {
    element: <Root />,
    children: [
      { path: 'sign-in', element: <SignIn /> },
      {
        element: <Layout />,
        children: [
          { index: true, element: <Dashboard /> },
          // Screens past the dashboard load on first visit: launch parses only what it paints.
          { path: 'approvals', lazy: approvals },
          { path: 'approvals/:approvalId', lazy: approvals },
          { path: 'projects', lazy: async () => ({ Component: (await import('./screens/Projects')).Projects }) },
          { path: 'projects/:projectId', lazy: async () => ({ Component: (await import('./screens/Project')).ProjectPage }) },
          { path: 'oncall', lazy: async () => ({ Component: (await import('./screens/OnCall')).OnCall }) },
          { path: 'settings', lazy: async () => ({ Component: (await import('./screens/Settings')).Settings }) },
          { path: '*', element: <NotFound /> },
        ],
      },
    ],
  },
];

export function App({ client }: { client?: QueryClient }) {
  const [queryClient] = useState(() => client ?? makeQueryClient());
  const [router] = useState(() => createHashRouter(routes));
  return (
    <QueryClientProvider client={queryClient}>
      <Tooltip.Provider delayDuration={300}>
        <RouterProvider router={router} />
      </Tooltip.Provider>
    </QueryClientProvider>
  );
}
