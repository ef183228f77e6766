/** One-line progress on stderr (redrawn in place on a TTY, one line per update elsewhere). */
export interface Eta {
  tokensPerS?: number;
  etaS?: number;
}

function fmtS(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60)}s` : `${s.toFixed(0)}s`;
}

export function progressLine(text: string, eta: Eta = {}): void {
  const extra = [
    eta.tokensPerS !== undefined ? `${eta.tokensPerS.toFixed(0)} tok/s` : "",
    eta.etaS !== undefined ? `ETA ${fmtS(eta.etaS)}` : "",
  ].filter(Boolean);
  const line = [text, ...extra].join("  ");
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
  else process.stderr.write(`${line}\n`);
}

progressLine.done = (text: string): void => {
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[2K");
  process.stderr.write(`${text}\n`);
};
