import { usePagingProblem } from '../state/queries';
import { AlertIcon } from './Icons';

/** On a phone that will not be paged (notifications turned off, no push token, the server
 *  refused it), or a desktop whose notifications nothing shows, says so across the app: an
 *  on-call person must not believe they are covered. */
export function PagingBanner() {
  const { data: problem } = usePagingProblem();
  if (!problem) return null;
  return (
    <div
      data-testid="paging-problem"
      role="alert"
      className="flex items-start gap-2 border-b border-line bg-amber-soft px-4 py-2 text-sm font-medium text-fg"
    >
      <AlertIcon size={16} className="mt-0.5 shrink-0 text-amber" />
      <span>{problem}</span>
    </div>
  );
}
