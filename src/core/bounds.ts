/** Helpers that keep values inside the bounds of `limits.ts`. */

/** A caller's list limit cut to `[0, max]`; NaN is a programmer error. */
export function clampLimit(limit: number, max: number): number {
  if (Number.isNaN(limit)) throw new Error('list limit is NaN');
  return Math.min(Math.max(0, Math.floor(limit)), max);
}

/** Cuts text to at most `max` UTF-16 code units, never in the middle of a surrogate pair. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}
