import { useEffect } from 'react';

export const APP_NAME = 'Spartex Control';

/** Names the screen in the document's title ("Approvals — Spartex Control"), which a screen
 *  reader says on arriving; without `page`, the app's name alone. */
export function usePageTitle(page: string | null | undefined) {
  useEffect(() => {
    document.title = page ? `${page} — ${APP_NAME}` : APP_NAME;
  }, [page]);
}
