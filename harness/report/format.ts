/** Number formatting shared by the README, diff and CI summary: fixed decimals, so output is stable. */

/** toFixed without "-0.000". */
export function fixed(x: number, digits = 3): string {
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

export function signed(x: number, digits = 3): string {
  const s = fixed(x, digits);
  return x > 0 && Number(s) !== 0 ? `+${s}` : s;
}

export function ci(low: number, high: number, digits = 3, sign = false): string {
  const f = sign ? signed : fixed;
  return `[${f(low, digits)}, ${f(high, digits)}]`;
}

export function pValue(p: number | null): string {
  if (p === null) return "—";
  return p < 0.001 ? "<0.001" : fixed(p, 3);
}

export function percent(x: number, digits = 1): string {
  return `${signed(x * 100, digits)}%`;
}

/** Display width for markdown-table padding: the verdict and change symbols are double-width. */
export function width(s: string): number {
  return [...s].length + (s.match(/[✅❌❔]/gu)?.length ?? 0);
}

/** Make text safe inside a markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
}
