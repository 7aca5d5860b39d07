import { useCallback, useSyncExternalStore } from 'react';

/** Below Tailwind's `sm` breakpoint: the phone layout. */
export const PHONE_QUERY = '(max-width: 639.98px)';

function subscribe(query: string, onChange: () => void) {
  const mq = window.matchMedia?.(query);
  mq?.addEventListener?.('change', onChange);
  return () => mq?.removeEventListener?.('change', onChange);
}

export function useMediaQuery(query: string): boolean {
  const sub = useCallback((l: () => void) => subscribe(query, l), [query]);
  const get = useCallback(() => window.matchMedia?.(query).matches ?? false, [query]);
  return useSyncExternalStore(sub, get, () => false);
}

export const useIsPhone = () => useMediaQuery(PHONE_QUERY);
