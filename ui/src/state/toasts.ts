import { create } from 'zustand';

export type ToastTone = 'info' | 'success' | 'warning' | 'error';
export type Toast = { id: number; tone: ToastTone; title?: string; message: string };

type ToastState = {
  toasts: Toast[];
  push: (toast: Omit<Toast, 'id'>, ttlMs?: number) => number;
  dismiss: (id: number) => void;
};

let nextId = 1;

export const useToasts = create<ToastState>((set, get) => ({
  toasts: [],
  // An error or a warning stays until dismissed: read it when you look, not within 7 s.
  push: (toast, ttlMs = toast.tone === 'error' || toast.tone === 'warning' ? 0 : 7000) => {
    const id = nextId++;
    set({ toasts: [...get().toasts.slice(-4), { ...toast, id }] });
    if (ttlMs > 0) setTimeout(() => get().dismiss(id), ttlMs);
    return id;
  },
  dismiss: (id) => set({ toasts: get().toasts.filter((t) => t.id !== id) }),
}));

/** Shows a toast from anywhere (event handlers, mutations): for 7 s (`ttlMs`; 0 until
 *  dismissed), errors and warnings until dismissed. */
export const toast = (t: Omit<Toast, 'id'>, ttlMs?: number) => useToasts.getState().push(t, ttlMs);
