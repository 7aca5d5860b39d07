import { describe, expect, it } from 'vitest';
import { revealDirection, revealInvisible } from './reveal';

describe('revealing what changes how text reads', () => {
  it('marks a right-to-left override, so a reordered payload cannot pass for another', () => {
    const payload = '{"to": "all\u202e stsil_no_tup\u202c"}';
    expect(revealInvisible(payload)).toBe('{"to": "all⟦U+202E⟧ stsil_no_tup⟦U+202C⟧"}');
  });

  it('marks zero-width characters in exact text, and leaves an emoji joined in copy', () => {
    expect(revealInvisible('pay\u200bpal')).toBe('pay⟦U+200B⟧pal');
    const family = '👩\u200d👧';
    expect(revealDirection(`Spring for the ${family}`)).toBe(`Spring for the ${family}`);
    expect(revealDirection('a\u2066b\u2069')).toBe('a⟦U+2066⟧b⟦U+2069⟧');
    // Tag characters carry words a person cannot see (and a language model reads).
    expect(revealInvisible('ok\u{e0041}\u{e0042}')).toBe('ok⟦U+E0041⟧⟦U+E0042⟧');
    expect(revealInvisible('soft\u00adhyphen')).toBe('soft⟦U+00AD⟧hyphen');
    expect(revealInvisible('a\ufe0fb')).toBe('a⟦U+FE0F⟧b');
  });
});
