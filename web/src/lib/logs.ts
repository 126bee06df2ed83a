// Presentation helpers for application log lines: their text is whatever an application sent,
// so it is made visible, never interpreted, and the level order is the contract's.
import { logLevelRank, type AttributeValue, type LogLevel } from "../../../contract/index.ts";

/** Position in LOG_LEVELS (least severe first); an unknown level counts as the least severe. */
export const levelRank = logLevelRank;

// Control characters are shown as escapes: CR, LF and tab as \r, \n and \t, the others as
// \u001b and the like, so a line stays one line and an ANSI sequence reads "\u001b[31m".
// (Escapes rather than the Unicode control pictures ␛ ␍ ␊: many monospace fonts lack those.)
// The invisible format characters that reorder or hide text (bidi overrides and isolates,
// zero-width characters, the BOM) are shown the same way. Nothing is removed.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const SHORT: Record<string, string> = { "\r": "\\r", "\n": "\\n", "\t": "\\t" };

const escape = (ch: string) => SHORT[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** The text with every control and invisible format character shown as an escape. */
export function inert(text: string): string {
  return text.replace(CONTROL, escape);
}

/** An attribute value as text: strings as they are (made visible), numbers and booleans as written. */
export const attributeText = (value: AttributeValue) => (typeof value === "string" ? inert(value) : String(value));

/** Does the line contain `needle` (already lower-cased) in its message or an attribute's key or value? */
export function matchesText(message: string, attributes: Record<string, AttributeValue> | undefined, needle: string): boolean {
  if (!needle) return true;
  if (message.toLowerCase().includes(needle)) return true;
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (key.toLowerCase().includes(needle) || String(value).toLowerCase().includes(needle)) return true;
  }
  return false;
}

const stampFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hourCycle: "h23",
});
/** "14:03:27.512": log lines come many a second, so milliseconds matter. */
export function formatStamp(ms: number): string {
  return Number.isFinite(ms) ? stampFormat.format(ms) : "—";
}

/** Upper-case short label for a level badge. */
export const levelLabel = (level: LogLevel) => level.toUpperCase();
