// Light markdown as React elements (never HTML): paragraphs, "- " lists, **bold**, *italic*,
// `code`. Anything else shows as the plain text it is.
import type { ReactNode } from 'react';
import { cx } from '../lib/cx';

const INLINE = /(\*\*[^*]+\*\*|`[^`]+`|\*[^*\s][^*]*\*|_[^_\s][^_]*_)/g;

function inline(text: string): ReactNode[] {
  return text.split(INLINE).map((part, i) => {
    if (part.startsWith('**') && part.endsWith('**') && part.length > 4) return <strong key={i}>{part.slice(2, -2)}</strong>;
    if (part.startsWith('`') && part.endsWith('`') && part.length > 2)
      return (
        <code key={i} className="rounded bg-raised px-1 font-mono text-[0.92em]">
          {part.slice(1, -1)}
        </code>
      );
    if (((part.startsWith('*') && part.endsWith('*')) || (part.startsWith('_') && part.endsWith('_'))) && part.length > 2)
      return <em key={i}>{part.slice(1, -1)}</em>;
    return part;
  });
}

export function Markdown({ text, className }: { text: string; className?: string }) {
  const blocks = text.replace(/\r\n/g, '\n').trim().split(/\n{2,}/);
  return (
    <div className={cx('space-y-2', className)}>
      {blocks.map((block, i) => {
        const lines = block.split('\n');
        if (lines.every((l) => /^\s*[-*]\s+/.test(l))) {
          return (
            <ul key={i} className="list-disc space-y-0.5 pl-5">
              {lines.map((l, j) => (
                <li key={j}>{inline(l.replace(/^\s*[-*]\s+/, ''))}</li>
              ))}
            </ul>
          );
        }
        const heading = /^#{1,6}\s+(.*)$/.exec(block);
        if (heading && lines.length === 1) return <p key={i} className="font-semibold">{inline(heading[1] ?? '')}</p>;
        return (
          <p key={i} className="break-words whitespace-pre-line">
            {inline(block)}
          </p>
        );
      })}
    </div>
  );
}
