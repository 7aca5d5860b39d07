import { useState } from 'react';
import type { Agent, Task } from '../../bindings';
import { TASK_STATUS, TONE_FILL } from '../../lib/status';
import { formatRelative } from '../../lib/format';
import { useNow } from '../../state/clock';
import { StatusText } from '../Status';
import { EmptyState } from '../States';

const OPEN = new Set(['queued', 'running', 'blocked']);
const SHOWN = 8;

export function TasksList({ tasks, agents }: { tasks: Task[]; agents: Agent[] }) {
  const [all, setAll] = useState(false);
  const now = useNow(5000);
  const names = new Map(agents.map((a) => [a.id, a.name]));
  // The core sends open tasks first; keep that, but make sure of it.
  const sorted = [...tasks].sort((a, b) => Number(OPEN.has(b.status)) - Number(OPEN.has(a.status)));
  const shown = all ? sorted : sorted.slice(0, SHOWN);
  if (tasks.length === 0) return <EmptyState title="No tasks yet" />;
  return (
    <div>
      <ul className="divide-y divide-line">
        {shown.map((t) => {
          const look = TASK_STATUS[t.status];
          const pct = Math.max(0, Math.min(100, t.progress));
          return (
            <li key={t.id} data-testid="task-row" data-status={t.status} className="px-4 py-2.5">
              <div className="flex items-start justify-between gap-3">
                <p className="min-w-0 text-sm">{t.title}</p>
                <StatusText look={look} className="shrink-0 text-xs" />
              </div>
              <div className="mt-1.5 flex items-center gap-3">
                <div
                  className="h-1 flex-1 overflow-hidden rounded-full bg-sunken"
                  role="progressbar"
                  aria-label={`${t.title}: ${pct} %`}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={pct}
                >
                  <div className={`h-full rounded-full ${TONE_FILL[look.tone]}`} style={{ width: `${pct}%` }} />
                </div>
                <span className="tabular w-10 text-right text-xs text-muted">{pct} %</span>
              </div>
              <p className="mt-1 text-xs text-muted">
                {t.agent_id ? (names.get(t.agent_id) ?? 'An agent') : 'Unassigned'} · updated {formatRelative(t.updated_at, now)}
              </p>
            </li>
          );
        })}
      </ul>
      {sorted.length > SHOWN && (
        <button type="button" onClick={() => setAll(!all)} className="min-h-11 w-full border-t border-line text-sm text-accent hover:bg-raised sm:min-h-9">
          {all ? 'Show fewer' : `Show all ${sorted.length} tasks`}
        </button>
      )}
    </div>
  );
}
