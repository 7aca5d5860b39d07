import { describe, expect, it, vi } from 'vitest';
import type { Change } from '../bindings';
import { ChangeFeed } from './changeFeed';

function started(): { feed: ChangeFeed; emit: (...changes: Change[]) => void } {
  const feed = new ChangeFeed();
  let emit: (changes: Change[]) => void = () => {};
  void feed.start(async (deliver) => {
    emit = deliver;
    return () => {};
  });
  return { feed, emit: (...changes) => emit(changes) };
}

const progress = (applied_seq: number): Change => ({ kind: 'progress', applied_seq, head: 100 });

describe('ChangeFeed', () => {
  it('hands the first subscriber what came before it, in order, then delivers live', () => {
    const { feed, emit } = started();
    emit(progress(1));
    emit(progress(2), progress(3));
    const seen: Change[] = [];
    const { catchup } = feed.subscribe((change) => seen.push(change));
    expect(catchup).toEqual({ kind: 'replay', changes: [progress(1), progress(2), progress(3)] });
    emit(progress(4), progress(5));
    expect(seen).toEqual([progress(4), progress(5)]);
  });

  it('delivers the rest of a burst when one change fails', () => {
    const { feed, emit } = started();
    const seen: Change[] = [];
    feed.subscribe((change) => {
      if (change.kind === 'progress' && change.applied_seq === 2) throw new Error('a broken handler');
      seen.push(change);
    });
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    emit(progress(1), progress(2), progress(3));
    expect(seen).toEqual([progress(1), progress(3)]);
    expect(logged).toHaveBeenCalledOnce();
    logged.mockRestore();
  });

  it('asks for a re-read after a flood it could not keep', () => {
    const { feed, emit } = started();
    for (let seq = 0; seq <= 5_000; seq++) emit(progress(seq));
    expect(feed.subscribe(() => {}).catchup).toEqual({ kind: 'reread' });
  });

  it('asks a later subscriber to re-read, and delivers nothing to one that left', () => {
    const { feed, emit } = started();
    const first: Change[] = [];
    feed.subscribe((change) => first.push(change)).unsubscribe();
    emit(progress(1));
    expect(first).toEqual([]);
    expect(feed.subscribe(() => {}).catchup).toEqual({ kind: 'reread' });
  });
});
