import { useEffect, useSyncExternalStore } from 'react';
import { create } from 'zustand';
import { persist } from 'zustand/middleware';

export type ThemeChoice = 'system' | 'light' | 'dark';

type ThemeState = { theme: ThemeChoice; setTheme: (theme: ThemeChoice) => void };

export const useTheme = create<ThemeState>()(
  persist((set) => ({ theme: 'system', setTheme: (theme) => set({ theme }) }), {
    name: 'spartex-theme',
  }),
);

const DARK_QUERY = '(prefers-color-scheme: dark)';

function subscribeSystem(onChange: () => void): () => void {
  const mq = window.matchMedia?.(DARK_QUERY);
  mq?.addEventListener?.('change', onChange);
  return () => mq?.removeEventListener?.('change', onChange);
}
const systemDark = () => window.matchMedia?.(DARK_QUERY).matches ?? false;

export function resolveTheme(choice: ThemeChoice, prefersDark: boolean): 'light' | 'dark' {
  if (choice === 'system') return prefersDark ? 'dark' : 'light';
  return choice;
}

function applyTheme(resolved: 'light' | 'dark') {
  document.documentElement.classList.toggle('dark', resolved === 'dark');
  document.documentElement.style.colorScheme = resolved;
}

/** Puts the chosen theme on the page before React mounts: the launch's first frame
 *  (`lib/firstFrame.ts`) is painted in it. */
export function applyChosenTheme() {
  applyTheme(resolveTheme(useTheme.getState().theme, systemDark()));
}

/** The theme shown: the chosen one, or the system's when asked to follow it. */
export function useResolvedTheme(): 'light' | 'dark' {
  const choice = useTheme((s) => s.theme);
  const prefersDark = useSyncExternalStore(subscribeSystem, systemDark, () => false);
  return resolveTheme(choice, prefersDark);
}

/** Puts `dark` on <html> for the theme shown. */
export function useApplyTheme(): 'light' | 'dark' {
  const resolved = useResolvedTheme();
  useEffect(() => applyTheme(resolved), [resolved]);
  return resolved;
}
