import { QueryClient } from '@tanstack/react-query';

/** Reads come from the core's local cache: they never go stale on their own; the core's
 *  change events invalidate what changed. */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: Infinity,
        gcTime: 5 * 60_000,
        retry: false,
        refetchOnWindowFocus: false,
        refetchOnReconnect: false,
      },
      mutations: { retry: false },
    },
  });
}

declare module '@tanstack/react-query' {
  interface Register {
    /** Every command rejects with the core's `{ code, message }` (see ipc.ts). */
    defaultError: import('../bindings').CommandError;
  }
}
