import { useState } from 'react';
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { createHashRouter, RouterProvider, type RouteObject } from 'react-router';
import * as Tooltip from '@radix-ui/react-tooltip';
import { makeQueryClient } from './state/queryClient';
import { Root } from './components/Root';
import { Layout } from './components/Layout';
import { SignIn } from './screens/SignIn';
import { Dashboard } from './screens/Dashboard';
import { Approvals } from './screens/Approvals';
import { Projects } from './screens/Projects';
import { ProjectPage } from './screens/Project';
import { Settings } from './screens/Settings';
import { NotFound } from './screens/NotFound';

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
          { path: 'approvals', element: <Approvals /> },
          { path: 'approvals/:approvalId', element: <Approvals /> },
          { path: 'projects', element: <Projects /> },
          { path: 'projects/:projectId', element: <ProjectPage /> },
          { path: 'settings', element: <Settings /> },
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
