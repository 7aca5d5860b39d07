import type { Preview } from '../../bindings';
import { diffStats, parseUnifiedDiff, type DiffLineKind } from '../../lib/diff';
import { formatAmount, formatPeriod } from '../../lib/format';
import { cx } from '../../lib/cx';
import { revealDirection, revealInvisible } from '../../lib/reveal';

const LINE: Record<DiffLineKind, string> = {
  add: 'diff-add bg-green-soft text-fg',
  del: 'diff-del bg-red-soft text-fg',
  ctx: 'diff-ctx text-fg',
  hunk: 'diff-hunk bg-blue-soft text-blue',
  meta: 'diff-meta text-muted',
};
const MARK: Record<DiffLineKind, string> = { add: '+', del: '−', ctx: ' ', hunk: '', meta: '' };

export function DiffView({ path, diff }: { path: string; diff: string }) {
  const lines = parseUnifiedDiff(diff);
  const { added, removed } = diffStats(lines);
  return (
    <div className="overflow-hidden rounded-lg border border-line">
      <div className="flex items-center justify-between gap-2 border-b border-line bg-raised px-3 py-1.5 text-xs">
        <span className="truncate font-mono" title={path}>
          {revealInvisible(path)}
        </span>
        <span className="tabular shrink-0">
          <span className="text-green">+{added}</span> <span className="text-red">−{removed}</span>
        </span>
      </div>
      <div className="overflow-x-auto">
        <table className="w-full border-collapse font-mono text-xs leading-5" aria-label={`Changes to ${path}: ${added} lines added, ${removed} removed`}>
          <tbody>
            {lines.map((l, i) => (
              <tr key={i} data-kind={l.kind} className={LINE[l.kind]}>
                <td className="w-9 pr-1 text-right text-faint select-none">{l.oldNo ?? ''}</td>
                <td className="w-9 pr-1 text-right text-faint select-none">{l.newNo ?? ''}</td>
                <td
                  className={cx('w-4 text-center select-none', l.kind === 'add' && 'text-green', l.kind === 'del' && 'text-red')}
                  aria-label={l.kind === 'add' ? 'added' : l.kind === 'del' ? 'removed' : undefined}
                >
                  {MARK[l.kind]}
                </td>
                <td className="pr-3 whitespace-pre">{revealInvisible(l.text) || ' '}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function CopyPreview({ preview }: { preview: Extract<Preview, { type: 'copy' }> }) {
  return (
    <div className="mx-auto max-w-md overflow-hidden rounded-xl border border-line bg-surface shadow-sm">
      <div className="flex items-center gap-2 border-b border-line px-3 py-2">
        <span className="flex h-7 w-7 items-center justify-center rounded-full bg-accent/15 text-xs font-bold text-accent" aria-hidden="true">
          {preview.channel.slice(0, 1).toUpperCase()}
        </span>
        <div className="min-w-0">
          <p className="text-xs font-semibold break-words">{revealDirection(preview.channel)}</p>
          {preview.audience && <p className="text-[11px] break-words text-muted">To: {revealDirection(preview.audience)}</p>}
        </div>
      </div>
      {preview.image_description && (
        <div className="flex h-36 items-center justify-center bg-gradient-to-br from-raised to-sunken p-4 text-center">
          <p className="text-xs text-muted">
            <span className="font-semibold text-fg">Image: </span>
            {preview.image_description}
          </p>
        </div>
      )}
      <div className="space-y-1.5 px-3 py-3">
        {preview.headline && <p className="text-base leading-snug font-semibold break-words">{revealDirection(preview.headline)}</p>}
        <p className="text-sm break-words whitespace-pre-line">{revealDirection(preview.body)}</p>
      </div>
    </div>
  );
}

export function AmountPreview({ preview }: { preview: Extract<Preview, { type: 'amount' }> }) {
  const period = formatPeriod(preview.period);
  const delta = preview.old_amount !== null ? preview.new_amount - preview.old_amount : null;
  return (
    <div className="rounded-lg border border-line bg-surface p-4">
      <p className="tabular text-xl font-semibold" data-testid="amount-line">
        {preview.old_amount !== null && (
          <>
            <span className="text-muted">{formatAmount(preview.old_amount, preview.currency)}</span>
            <span className="text-muted"> → </span>
          </>
        )}
        <span>{formatAmount(preview.new_amount, preview.currency)}</span>
        {period && <span className="text-base font-normal text-muted"> {period}</span>}
      </p>
      {delta !== null && (
        <p className={cx('tabular mt-1 text-sm', delta > 0 ? 'text-amber' : 'text-green')}>
          {delta > 0 ? '+' : '−'}
          {formatAmount(Math.abs(delta), preview.currency)}
          {period ? ` ${period}` : ''}
          {preview.old_amount ? ` (${delta > 0 ? '+' : '−'}${Math.round((Math.abs(delta) / preview.old_amount) * 100)} %)` : ''}
        </p>
      )}
    </div>
  );
}

/** What will go out, in the form that shows it best. */
export function PreviewView({ preview }: { preview: Preview }) {
  switch (preview.type) {
    case 'diff':
      return <DiffView path={preview.path} diff={preview.unified_diff} />;
    case 'copy':
      return <CopyPreview preview={preview} />;
    case 'amount':
      return <AmountPreview preview={preview} />;
  }
}
