import type { ProjectSummary } from '../bindings';
import { Glyph } from './Status';
import { cx } from '../lib/cx';

const COUNTS = [
  { key: 'agents_working', word: 'working', tone: 'blue', shape: 'dot' },
  { key: 'agents_waiting', word: 'waiting for approval', tone: 'amber', shape: 'half' },
  { key: 'agents_stopped', word: 'stopped', tone: 'grey', shape: 'square' },
  { key: 'agents_error', word: 'in error', tone: 'red', shape: 'cross' },
] as const;

/** Working / waiting / stopped / error as coloured glyphs and numbers; zeros fade, agents in
 *  error are red and bold: the one count that needs someone. */
export function AgentCounts({ summary }: { summary: ProjectSummary }) {
  const label = COUNTS.map((c) => `${summary[c.key]} ${c.word}`).join(', ');
  return (
    <span className="tabular inline-flex items-center gap-2.5 text-xs" aria-label={`Agents: ${label}`} title={label}>
      {COUNTS.map((c) => {
        const n = summary[c.key];
        return (
          <span
            key={c.key}
            data-count-of={c.key}
            className={cx(
              'inline-flex items-center gap-1',
              n === 0 ? 'text-faint [&>svg]:opacity-40' : c.tone === 'red' ? 'font-semibold text-red' : 'text-fg',
            )}
            aria-hidden="true"
          >
            <Glyph shape={c.shape} tone={c.tone} size={9} />
            {n}
          </span>
        );
      })}
    </span>
  );
}
