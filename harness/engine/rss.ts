/**
 * Peak resident memory of one phase (training an arm, decoding, …), on any OS: samples
 * process.memoryUsage.rss() on a timer and, when the process's lifetime high-water mark
 * (resourceUsage().maxRSS) rose during the phase, takes it too — that peak was reached in the phase,
 * even between two samples or while the event loop was blocked. No /proc reads.
 */

export interface PeakRss {
  /** Stop sampling; the phase's peak RSS in bytes. */
  stop(): number;
  /** The peak so far, without stopping. */
  peek(): number;
}

function highWater(): number {
  return process.resourceUsage().maxRSS * 1024; // reported in KiB on every platform
}

export function trackPeakRss(intervalMs = 20): PeakRss {
  const startHigh = highWater();
  let peak = process.memoryUsage.rss();
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  const peek = () => {
    sample();
    const high = highWater();
    return high > startHigh ? Math.max(peak, high) : peak;
  };
  return {
    peek,
    stop() {
      clearInterval(timer);
      return peek();
    },
  };
}

/** Run one phase and report its peak RSS alongside its result. */
export async function withPeakRss<R>(phase: () => Promise<R>): Promise<{ result: R; peakRssBytes: number }> {
  const t = trackPeakRss();
  try {
    const result = await phase();
    return { result, peakRssBytes: t.stop() };
  } finally {
    t.stop();
  }
}
