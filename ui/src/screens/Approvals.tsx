import { useCallback, useMemo, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import type { ApprovalView } from '../bindings';
import { useApprovals } from '../state/queries';
import { useIsPhone } from '../state/media';
import { useNow } from '../state/clock';
import { useListKeys } from '../state/listKeys';
import { usePageTitle } from '../state/pageTitle';
import { sortByUrgency } from '../lib/approvals';
import { cx } from '../lib/cx';
import { EmptyState, ErrorState, LoadingRows } from '../components/States';
import { CheckIcon, InboxIcon } from '../components/Icons';
import { ApprovalItem } from '../components/approvals/ApprovalItem';
import { ApprovalDetail } from '../components/approvals/ApprovalDetail';

type Tab = 'pending' | 'decided';

function decidedFirst(list: readonly ApprovalView[]): ApprovalView[] {
  return list
    .filter((a) => a.approval.status !== 'pending')
    .sort((a, b) => Date.parse(b.approval.decided_at ?? b.approval.created_at) - Date.parse(a.approval.decided_at ?? a.approval.created_at));
}

/** The inbox: pending across projects, most urgent first; list left, detail right
 *  (on a phone: the list, then the detail as its own page). */
export function Approvals() {
  const { approvalId } = useParams();
  usePageTitle('Approvals');
  const phone = useIsPhone();
  const navigate = useNavigate();
  const [tab, setTab] = useState<Tab>('pending');
  const pending = useApprovals(true);
  const all = useApprovals(false);
  const now = useNow(1000);
  const source = tab === 'pending' ? pending : all;
  const pendingCount = (pending.data ?? []).filter((a) => a.approval.status === 'pending').length;
  const list = useMemo(
    () => (tab === 'pending' ? sortByUrgency((pending.data ?? []).filter((a) => a.approval.status === 'pending')) : decidedFirst(all.data ?? [])),
    [tab, pending.data, all.data],
  );

  const open = useCallback(
    (i: number) => {
      const a = list[i];
      if (a) void navigate(`/approvals/${a.approval.id}`, { replace: !phone });
    },
    [list, navigate, phone],
  );
  const close = useCallback(() => {
    if (approvalId) void navigate('/approvals');
  }, [approvalId, navigate]);
  const current = list.findIndex((a) => a.approval.id === approvalId);
  const [selected] = useListKeys({ count: list.length, onOpen: open, onEscape: close, initial: current });

  const showList = !phone || !approvalId;
  const showDetail = !phone || Boolean(approvalId);

  return (
    <div data-testid="approvals-page" className={cx('h-full', !phone && 'grid grid-cols-[minmax(18rem,24rem)_minmax(0,1fr)]')}>
      {showList && (
        <div className={cx('flex min-h-0 flex-col', !phone && 'border-r border-line bg-surface')}>
          <div className="flex items-center justify-between gap-2 border-b border-line px-4 py-2.5">
            <h1 className="text-base font-semibold">Approvals</h1>
            <div role="tablist" aria-label="Which approvals" className="flex rounded-md bg-raised p-0.5 text-xs">
              {(['pending', 'decided'] as const).map((t) => (
                <button
                  key={t}
                  role="tab"
                  type="button"
                  aria-selected={tab === t}
                  onClick={() => setTab(t)}
                  className={cx('min-h-9 rounded px-3 sm:min-h-7', tab === t ? 'bg-surface font-medium shadow-sm' : 'text-muted')}
                >
                  {t === 'pending' ? `Pending (${pendingCount})` : 'Decided'}
                </button>
              ))}
            </div>
          </div>
          <div className="min-h-0 flex-1 overflow-y-auto">
            {source.isPending ? (
              <LoadingRows rows={4} />
            ) : source.error ? (
              <ErrorState error={source.error} title="Could not read approvals" />
            ) : list.length === 0 ? (
              tab === 'pending' ? (
                <EmptyState title="Nothing waits for you" icon={<CheckIcon size={28} />}>
                  When an agent asks before it publishes, spends or replies, the request appears here
                  and you get a notification.
                </EmptyState>
              ) : (
                <EmptyState title="No decided requests in the cache yet" icon={<InboxIcon size={28} />} />
              )
            ) : (
              <ul aria-label={tab === 'pending' ? 'Pending approvals, most urgent first' : 'Decided approvals'}>
                {list.map((a, i) => (
                  <ApprovalItem key={a.approval.id} view={a} now={now} active={a.approval.id === approvalId} selected={i === selected} />
                ))}
              </ul>
            )}
          </div>
        </div>
      )}
      {showDetail && (
        <div className="h-full min-h-0 overflow-y-auto">
          {approvalId ? (
            <ApprovalDetail key={approvalId} approvalId={approvalId} phone={phone} />
          ) : (
            <EmptyState title="Choose a request" className="h-full" icon={<InboxIcon size={28} />}>
              Use <kbd className="rounded border border-line px-1">j</kbd> / <kbd className="rounded border border-line px-1">k</kbd> to
              move through the list and <kbd className="rounded border border-line px-1">Enter</kbd> to open.
            </EmptyState>
          )}
        </div>
      )}
    </div>
  );
}
