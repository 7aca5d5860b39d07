import { useState } from 'react';
import { Link } from 'react-router';
import type { TimelineEntry } from '../../bindings';
import { formatRelative, formatTimestamp } from '../../lib/format';
import { useNow } from '../../state/clock';
import { Glyph } from '../Status';
import type { Shape, Tone } from '../../lib/status';
import { EmptyState } from '../States';

const KIND: Record<string, { shape: Shape; tone: Tone }> = {
  task: { shape: 'dot', tone: 'blue' },
  approval: { shape: 'half', tone: 'amber' },
  stop: { shape: 'square', tone: 'red' },
  message: { shape: 'ring', tone: 'neutral' },
  agent: { shape: 'ring', tone: 'grey' },
};
const SHOWN = 25;

/** What happened and who did it, newest first. */
export function Timeline({ entries }: { entries: TimelineEntry[] }) {
  const [all, setAll] = useState(false);
  const now = useNow(5000);
  if (entries.length === 0) return <EmptyState title="Nothing has happened yet" />;
  const shown = all ? entries : entries.slice(0, SHOWN);
  return (
    <div>
      <ol className="relative px-4 py-2">
        {shown.map((e, i) => {
          const look = KIND[e.kind] ?? { shape: 'ring' as Shape, tone: 'neutral' as Tone };
          const text = (
            <>
              {e.actor && <span className="font-medium">{e.actor} </span>}
              <span className="text-fg">{e.text}</span>
            </>
          );
          return (
            <li key={`${e.at}-${i}`} data-testid="timeline-item" data-kind={e.kind} className="relative flex gap-3 py-1.5 pl-1">
              <span className="relative mt-1 flex flex-col items-center">
                <Glyph shape={look.shape} tone={look.tone} size={9} />
              </span>
              <div className="min-w-0 flex-1 text-sm">
                {e.approval_id ? (
                  <Link to={`/approvals/${e.approval_id}`} className="hover:underline">
                    {text}
                  </Link>
                ) : (
                  text
                )}
              </div>
              <time dateTime={e.at} title={formatTimestamp(e.at, now)} className="tabular shrink-0 text-xs text-muted">
                {formatRelative(e.at, now)}
              </time>
            </li>
          );
        })}
      </ol>
      {entries.length > SHOWN && (
        <button type="button" onClick={() => setAll(!all)} className="min-h-11 w-full border-t border-line text-sm text-accent hover:bg-raised sm:min-h-9">
          {all ? 'Show less' : `Show all ${entries.length} events`}
        </button>
      )}
    </div>
  );
}
