/**
 * Numbers and special words in text cells, read straight from the bytes of a CSV buffer.
 *
 * Most cells of a large dataset are plain decimals ("12.5", "-0.0031", "4e-3"). Decoding each to a
 * JS string and calling Number() costs more than everything else the drift engine does, so
 * parseDecimal reads the digits itself. The result is still the correctly rounded double: with at
 * most 15 significant digits the mantissa m is exact (m < 2^53), 10^k is exact for k <= 22, and
 * one IEEE multiplication or division of two exact values is correctly rounded (Clinger's fast
 * path). Anything outside that (more digits, huge exponents) is validated by the same grammar and
 * handed to Number(), so both paths give the bits Number() would.
 *
 * Grammar (what pandas' C parser also accepts as a float): optional spaces, optional sign, digits
 * with at most one '.', at least one digit, optional exponent e|E[sign]digits, optional spaces.
 * Hex, underscores, "Infinity" and the like are not decimals (see classifyWord).
 */
const POW10 = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);
const MAX_EXACT_DIGITS = 15;

/** The value of a decimal in bytes [start, end), or NaN when the bytes are not a decimal. */
export function parseDecimal(bytes: Buffer, start: number, end: number): number {
  let i = start;
  let stop = end;
  while (i < stop && (bytes[i] === 32 || bytes[i] === 9)) i++;
  while (stop > i && (bytes[stop - 1] === 32 || bytes[stop - 1] === 9)) stop--;
  if (i === stop) return Number.NaN;
  const first = i;
  let negative = false;
  let c = bytes[i] as number;
  if (c === 45) {
    negative = true;
    i++;
  } else if (c === 43) i++;
  let mantissa = 0;
  let significant = 0;
  let exponent = 0;
  let sawDigit = false;
  let exact = true;
  while (i < stop) {
    const d = (bytes[i] as number) - 48;
    if (d < 0 || d > 9) break;
    sawDigit = true;
    if (significant < MAX_EXACT_DIGITS) {
      mantissa = mantissa * 10 + d;
      if (mantissa !== 0) significant++;
    } else {
      exponent++;
      if (d !== 0) exact = false;
    }
    i++;
  }
  if (i < stop && bytes[i] === 46) {
    i++;
    while (i < stop) {
      const d = (bytes[i] as number) - 48;
      if (d < 0 || d > 9) break;
      sawDigit = true;
      if (significant < MAX_EXACT_DIGITS) {
        mantissa = mantissa * 10 + d;
        exponent--;
        if (mantissa !== 0) significant++;
      } else if (d !== 0) exact = false;
      i++;
    }
  }
  if (!sawDigit) return Number.NaN;
  if (i < stop) {
    c = bytes[i] as number;
    if (c !== 101 && c !== 69) return Number.NaN; // e / E
    i++;
    let expNegative = false;
    if (i < stop && (bytes[i] === 45 || bytes[i] === 43)) {
      expNegative = bytes[i] === 45;
      i++;
    }
    let written = 0;
    let digits = 0;
    while (i < stop) {
      const d = (bytes[i] as number) - 48;
      if (d < 0 || d > 9) return Number.NaN;
      if (written < 100_000) written = written * 10 + d;
      digits++;
      i++;
    }
    if (digits === 0) return Number.NaN;
    exponent += expNegative ? -written : written;
  }
  if (!exact) return Number(bytes.toString('latin1', first, stop));
  if (mantissa === 0) return negative ? -0 : 0;
  let value: number;
  if (exponent === 0) value = mantissa;
  else if (exponent > 0 && exponent <= 22) value = mantissa * (POW10[exponent] as number);
  else if (exponent < 0 && exponent >= -22) value = mantissa / (POW10[-exponent] as number);
  else return Number(bytes.toString('latin1', first, stop));
  return negative ? -value : value;
}

const DECIMAL = /^[ \t]*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[ \t]*$/;

/** The same grammar for a JS string (JSON Lines values, text in a declared-numeric column). */
export function parseDecimalText(text: string): number {
  return DECIMAL.test(text) ? Number(text) : Number.NaN;
}

/**
 * Words that stand for a missing value: pandas' default `na_values`, so a file pandas reads with
 * NaNs reads here with the same cells missing.
 */
const MISSING_WORDS = new Set([
  '', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN',
  '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null',
]);

export type Word = 'missing' | 'infinity' | 'true' | 'false' | 'text';

/** What a non-decimal cell is. Infinity and booleans are matched without regard to case. */
export function classifyWord(raw: string): Word {
  const text = raw.trim();
  if (MISSING_WORDS.has(text)) return 'missing';
  if (text.length <= 9) {
    const lower = text.toLowerCase();
    const unsigned = lower.startsWith('-') || lower.startsWith('+') ? lower.slice(1) : lower;
    if (unsigned === 'inf' || unsigned === 'infinity') return 'infinity';
    if (lower === 'true') return 'true';
    if (lower === 'false') return 'false';
  }
  return 'text';
}
