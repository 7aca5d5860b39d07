import { describe, expect, it } from 'vitest';
import { diffStats, parseUnifiedDiff } from './diff';

const DIFF = `--- a/ads/spring.yaml
+++ b/ads/spring.yaml
@@ -3,3 +3,4 @@ campaign: spring
 headline: Spring is here
-daily_budget: 150
+daily_budget: 250
+bid_cap: 2.40
 audience: uk-25-44
`;

describe('parseUnifiedDiff', () => {
  it('knows added, removed, context, hunk and header lines, with line numbers', () => {
    const lines = parseUnifiedDiff(DIFF);
    expect(lines.map((l) => l.kind)).toEqual(['meta', 'meta', 'hunk', 'ctx', 'del', 'add', 'add', 'ctx']);
    expect(lines[3]).toMatchObject({ text: 'headline: Spring is here', oldNo: 3, newNo: 3 });
    expect(lines[4]).toMatchObject({ text: 'daily_budget: 150', oldNo: 4, newNo: null });
    expect(lines[5]).toMatchObject({ text: 'daily_budget: 250', oldNo: null, newNo: 4 });
    expect(lines[7]).toMatchObject({ oldNo: 5, newNo: 6 });
    expect(diffStats(lines)).toEqual({ added: 2, removed: 1 });
  });

  it('reads a removed line that starts with dashes inside a hunk as a removal', () => {
    const lines = parseUnifiedDiff('@@ -1 +1 @@\n--- separator\n+=== separator\n');
    expect(lines.map((l) => l.kind)).toEqual(['hunk', 'del', 'add']);
    expect(lines[1]?.text).toBe('-- separator');
  });
});
