import type { Role } from '../bindings';

// A role from a newer server may do, as far as this version knows, what a viewer may.
const RANK: Record<Role, number> = { unknown: 0, viewer: 0, oncall: 1, manager: 2, owner: 3 };

export function atLeast(role: Role | null | undefined, needed: Role): boolean {
  if (!role) return false;
  return RANK[role] >= RANK[needed];
}

/** Approve, reject, chat and stop: on-call staff and up. Viewers only look. */
export const canAct = (role: Role | null | undefined) => atLeast(role, 'oncall');

/** Resuming a stopped project: managers and owners. */
export const canResume = (role: Role | null | undefined) => atLeast(role, 'manager');

export const ROLE_WORD: Record<Role, string> = {
  viewer: 'Viewer',
  oncall: 'On-call',
  manager: 'Manager',
  owner: 'Owner',
  unknown: 'Role unknown to this version',
};
