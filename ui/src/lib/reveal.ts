/** Characters that change how text reads without being seen: direction overrides, embeddings
 *  and isolates (which can reorder what an approver reads, "Trojan Source"); and, for exact
 *  text (a payload, a diff), every character that shows as nothing: zero-width ones, the soft
 *  hyphen, fillers that render blank, variation selectors and the tag characters that can carry
 *  hidden words to a language model. */
const DIRECTION = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const SHOWS_AS_NOTHING =
  /[\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufeff\uffa0\u{e0000}-\u{e007f}]|\p{Variation_Selector}/gu;

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
  return text.replace(SHOWS_AS_NOTHING, codePoint);
}
