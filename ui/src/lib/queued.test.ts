import { describe, expect, it } from 'vitest';
import type { Outcome, Queued } from '../bindings';
import { queuedState } from './queued';

const entry = {} as Queued['entry'];
const outcome = (result: Outcome['result'], message: string): Outcome =>
  ({ at: '2026-12-07T10:00:00Z', result, action: 'Stop Spring launch', message, approval_id: null, project_id: 'prj_1' });

describe('queuedState', () => {
  it('tells a refusal from a delivery, even though the refused action left the outbox', () => {
    const refused: Queued = { entry, delivered: false, outcome: outcome('refused', '`reason` is longer than 1000 characters.'), waiting_because: null };
    expect(queuedState(refused)).toEqual({ state: 'refused', message: '`reason` is longer than 1000 characters.' });
    const taken: Queued = { entry, delivered: true, outcome: outcome('delivered', 'Stop delivered'), waiting_because: null };
    expect(queuedState(taken)).toEqual({ state: 'delivered' });
  });

  it('says why an action still waits', () => {
    const waiting: Queued = { entry, delivered: false, outcome: null, waiting_because: 'You are offline.' };
    expect(queuedState(waiting)).toEqual({ state: 'waiting', why: 'You are offline.' });
  });
});
