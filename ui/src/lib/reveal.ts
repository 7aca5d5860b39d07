/** Characters that change how text reads without being seen: direction overrides, embeddings
 *  and isolates (which can reorder what an approver reads, "Trojan Source"), and, for exact
 *  text (a payload, a diff), zero-width characters that make two strings look alike. */
const DIRECTION = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const DIRECTION_AND_ZERO_WIDTH = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/gu;

function codePoint(c: string): string {
  return `⟦U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}⟧`;
}

/** Shows direction controls as visible marks (⟦U+202E⟧): for words people read (a title, an
 *  ad's copy), where a zero-width joiner may be part of an emoji. */
export function revealDirection(text: string): string {
  return text.replace(DIRECTION, codePoint);
}

/** Shows direction controls and zero-width characters as visible marks: for exact text (the
 *  payload an agent will act with, a diff), where every character counts. */
export function revealInvisible(text: string): string {
  return text.replace(DIRECTION_AND_ZERO_WIDTH, codePoint);
}
