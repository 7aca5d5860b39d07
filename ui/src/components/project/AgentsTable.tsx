import type { Agent, Task } from '../../bindings';
import { AGENT_STATUS } from '../../lib/status';
import { formatRelative, formatUsd } from '../../lib/format';
import { useNow } from '../../state/clock';
import { StatusText } from '../Status';
import { EmptyState } from '../States';

export function AgentsTable({ agents, tasks }: { agents: Agent[]; tasks: Task[] }) {
  const now = useNow(1000);
  const titles = new Map(tasks.map((t) => [t.id, t.title]));
  if (agents.length === 0) return <EmptyState title="No agents on this project yet" />;
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm">
        <thead className="text-xs text-muted">
          <tr className="border-b border-line">
            <th scope="col" className="py-2 pr-3 pl-4 font-medium">Agent</th>
            <th scope="col" className="px-3 py-2 font-medium">Status</th>
            <th scope="col" className="hidden px-3 py-2 font-medium sm:table-cell">Current task</th>
            <th scope="col" className="hidden py-2 pr-4 pl-3 text-right font-medium sm:table-cell">Heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => {
            const task = a.current_task_id ? titles.get(a.current_task_id) : undefined;
            const stale = a.last_heartbeat_at && now - Date.parse(a.last_heartbeat_at) > 120_000 && a.status === 'working';
            return (
              <tr
                key={a.id}
                data-testid="agent-row"
                data-agent-id={a.id}
                data-agent-name={a.name}
                data-status={a.status}
                className="border-b border-line last:border-b-0 align-top"
              >
                <td className="py-2 pr-3 pl-4">
                  <p className="font-medium">{a.name}</p>
                  <p className="text-xs text-muted">
                    {a.role} · <span className="font-mono">{a.model}</span> · {formatUsd(a.cost_usd)}
                  </p>
                  {task && <p className="mt-0.5 line-clamp-2 text-xs text-muted sm:hidden">{task}</p>}
                </td>
                <td className="w-32 py-2 pr-4 pl-3 text-xs sm:w-auto sm:pr-3">
                  <StatusText look={AGENT_STATUS[a.status]} className="whitespace-normal" />
                  <p className="tabular mt-0.5 text-muted sm:hidden">heartbeat {a.last_heartbeat_at ? formatRelative(a.last_heartbeat_at, now) : 'never'}</p>
                </td>
                <td className="hidden max-w-64 px-3 py-2 text-xs sm:table-cell">
                  <span className="line-clamp-2">{task ?? <span className="text-faint">—</span>}</span>
                </td>
                <td className="tabular hidden py-2 pr-4 pl-3 text-right text-xs whitespace-nowrap sm:table-cell">
                  <span className={stale ? 'font-medium text-amber' : 'text-muted'} title={a.last_heartbeat_at ?? undefined}>
                    {a.last_heartbeat_at ? formatRelative(a.last_heartbeat_at, now) : 'never'}
                  </span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
