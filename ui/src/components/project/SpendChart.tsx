import { useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Agent, SpendPoint } from '../../bindings';
import { formatUsd } from '../../lib/format';
import { EmptyState } from '../States';

/** Distinct in light and dark, none of them the status red. */
export const AGENT_COLOURS = ['#6366f1', '#0ea5e9', '#d97706', '#059669', '#db2777', '#8b5cf6', '#0d9488', '#ea580c'];

export type DayRow = { day: string; label: string; total: number } & Record<string, number | string>;

/** spend_by_day → one row per day with a column per agent id (for a stacked bar chart). */
export function spendRows(points: readonly SpendPoint[]): DayRow[] {
  const byDay = new Map<string, DayRow>();
  for (const p of points) {
    let row = byDay.get(p.day);
    if (!row) {
      const d = new Date(`${p.day}T00:00:00Z`);
      const label = d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
      row = { day: p.day, label, total: 0 };
      byDay.set(p.day, row);
    }
    row[p.agent_id] = ((row[p.agent_id] as number | undefined) ?? 0) + p.cost_usd;
    row.total += p.cost_usd;
  }
  return [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day));
}

export function SpendChart({ points, agents }: { points: SpendPoint[]; agents: Agent[] }) {
  const rows = useMemo(() => spendRows(points), [points]);
  const ids = useMemo(() => {
    const seen = new Set(points.map((p) => p.agent_id));
    const ordered = agents.filter((a) => seen.has(a.id)).map((a) => a.id);
    for (const id of seen) if (!ordered.includes(id)) ordered.push(id);
    return ordered;
  }, [points, agents]);
  const names = new Map(agents.map((a) => [a.id, a.name]));
  const colour = (id: string) => AGENT_COLOURS[Math.max(0, agents.findIndex((a) => a.id === id)) % AGENT_COLOURS.length];
  const maxAgent = Math.max(0.01, ...agents.map((a) => a.cost_usd));
  const total = rows.reduce((n, r) => n + r.total, 0);

  return (
    <div data-testid="spend-chart" className="p-4">
      {rows.length === 0 ? (
        <EmptyState title="No spend recorded yet" className="py-6" />
      ) : (
        <figure>
          <figcaption className="sr-only">
            Spend per day, stacked by agent: {rows.map((r) => `${r.label} ${formatUsd(r.total)}`).join(', ')}. Total {formatUsd(total)}.
          </figcaption>
          <div className="h-48 w-full" aria-hidden="true">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={rows} margin={{ top: 4, right: 4, bottom: 0, left: -8 }}>
                <CartesianGrid vertical={false} strokeDasharray="2 4" />
                <XAxis dataKey="label" tickLine={false} axisLine={false} fontSize={11} />
                <YAxis tickFormatter={(v: number) => formatUsd(v)} tickLine={false} axisLine={false} fontSize={11} width={56} />
                <Tooltip
                  cursor={{ fillOpacity: 0.08 }}
                  formatter={(value, name) => [formatUsd(Number(value)), names.get(String(name)) ?? String(name)]}
                  contentStyle={{ background: 'var(--surface)', border: '1px solid var(--line)', borderRadius: 8, fontSize: 12 }}
                  labelStyle={{ color: 'var(--fg)', fontWeight: 600 }}
                />
                {ids.map((id) => (
                  <Bar key={id} dataKey={id} name={id} stackId="spend" fill={colour(id)} maxBarSize={28} isAnimationActive={false} />
                ))}
              </BarChart>
            </ResponsiveContainer>
          </div>
        </figure>
      )}
      {agents.length > 0 && (
        <ul className="mt-4 space-y-1.5" aria-label="Spend per agent">
          {[...agents]
            .sort((a, b) => b.cost_usd - a.cost_usd)
            .map((a) => (
              <li key={a.id} className="grid grid-cols-[7rem_minmax(0,1fr)_4.5rem] items-center gap-3 text-xs">
                <span className="flex min-w-0 items-center gap-1.5">
                  <span className="h-2 w-2 shrink-0 rounded-sm" style={{ background: colour(a.id) }} aria-hidden="true" />
                  <span className="truncate">{a.name}</span>
                </span>
                <span className="h-1.5 overflow-hidden rounded-full bg-sunken">
                  <span className="block h-full rounded-full" style={{ width: `${(a.cost_usd / maxAgent) * 100}%`, background: colour(a.id) }} />
                </span>
                <span className="tabular text-right">{formatUsd(a.cost_usd)}</span>
              </li>
            ))}
        </ul>
      )}
    </div>
  );
}
