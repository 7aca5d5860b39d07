// The one place the UI invokes a command (the generated `ipc.ts` calls it): whatever a command
// rejects with arrives as a `CommandError`, the core's own or a local one in words.
import { invoke } from '@tauri-apps/api/core';
import type { CommandError } from './bindings';

/** True when `value` looks like the `{ code, message }` a failed command rejects with. */
export function isCommandError(value: unknown): value is CommandError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Any rejection as a CommandError: the core's own, or a local one in words. */
export function toCommandError(error: unknown): CommandError {
  if (isCommandError(error)) return error;
  if (error instanceof Error) return { code: 'local', message: error.message };
  if (typeof error === 'string') return { code: 'local', message: error };
  return { code: 'local', message: 'Something went wrong inside the app. Try again.' };
}

/** Invokes `command` with `args` (camelCased keys); rejects with a CommandError. */
export async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toCommandError(error);
  }
}
