// A unified diff, split into lines that know what they are, with old/new line numbers.

export type DiffLineKind = 'add' | 'del' | 'ctx' | 'hunk' | 'meta';
export type DiffLine = {
  kind: DiffLineKind;
  /** The line without its leading marker. */
  text: string;
  oldNo: number | null;
  newNo: number | null;
};

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

export function parseUnifiedDiff(diff: string): DiffLine[] {
  const lines = diff.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: DiffLine[] = [];
  let oldNo = 0;
  let newNo = 0;
  let inHunk = false;
  for (const line of lines) {
    const hunk = HUNK.exec(line);
    if (line.startsWith('diff ')) {
      inHunk = false;
      out.push({ kind: 'meta', text: line, oldNo: null, newNo: null });
    } else if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      inHunk = true;
      out.push({ kind: 'hunk', text: line, oldNo: null, newNo: null });
    } else if (!inHunk && (line.startsWith('--- ') || line.startsWith('+++ ') || line.startsWith('index '))) {
      out.push({ kind: 'meta', text: line, oldNo: null, newNo: null });
    } else if (line.startsWith('+')) {
      out.push({ kind: 'add', text: line.slice(1), oldNo: null, newNo: newNo++ });
    } else if (line.startsWith('-')) {
      out.push({ kind: 'del', text: line.slice(1), oldNo: oldNo++, newNo: null });
    } else if (line.startsWith('\\')) {
      out.push({ kind: 'meta', text: line, oldNo: null, newNo: null });
    } else {
      const text = line.startsWith(' ') ? line.slice(1) : line;
      out.push({
        kind: 'ctx',
        text,
        oldNo: inHunk ? oldNo++ : null,
        newNo: inHunk ? newNo++ : null,
      });
    }
  }
  return out;
}

/** How many lines a diff adds and removes. */
export function diffStats(lines: readonly DiffLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.kind === 'add') added++;
    else if (l.kind === 'del') removed++;
  }
  return { added, removed };
}
