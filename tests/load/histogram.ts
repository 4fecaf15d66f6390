/**
 * Log-bucketed latency histogram (HDR-like): constant memory, mergeable across
 * processes, percentiles within 1% relative error.
 *
 * Bucket i covers [MIN_MS * γ^i, MIN_MS * γ^(i+1)); reporting the bucket's
 * "harmonic middle" 2·L·γ/(1+γ) bounds the relative error by (γ-1)/(γ+1) ≈ 0.99%.
 */

const GAMMA = 1.02;
const LOG_GAMMA = Math.log(GAMMA);
/** Smallest distinguishable duration: 1 µs. */
const MIN_MS = 0.001;
/** Largest bucket reaches MIN_MS * γ^BUCKETS ≈ 45 min: far above the 60 s request timeout. */
const BUCKETS = 1100;

/** Wire format: `b` is a flat list of `[index, count, index, count, …]` for non-empty buckets. */
export interface HistogramJson {
  n: number;
  sum: number;
  min: number;
  max: number;
  b: number[];
}

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  const i = Math.floor(Math.log(ms / MIN_MS) / LOG_GAMMA);
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

function valueOf(index: number): number {
  const lower = MIN_MS * GAMMA ** index;
  return (2 * lower * GAMMA) / (1 + GAMMA);
}

/** Records durations in milliseconds; memory is fixed at ~4 KiB whatever the sample count. */
export class Histogram {
  counts = new Uint32Array(BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  record(ms: number): void {
    this.counts[bucketOf(ms)]++;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  merge(other: Histogram | HistogramJson): void {
    if (other instanceof Histogram) {
      if (other.count === 0) return;
      for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
      this.#addStats(other.count, other.sum, other.min, other.max);
      return;
    }
    if (other.n === 0) return;
    for (let i = 0; i < other.b.length; i += 2) this.counts[other.b[i]] += other.b[i + 1];
    this.#addStats(other.n, other.sum, other.min, other.max);
  }

  #addStats(n: number, sum: number, min: number, max: number): void {
    this.count += n;
    this.sum += sum;
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Nearest-rank percentile for `q` in [0, 1]; 0 when empty. */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, valueOf(i)));
    }
    return this.max;
  }

  toJSON(): HistogramJson {
    const b: number[] = [];
    if (this.count > 0) {
      for (let i = 0; i < BUCKETS; i++) if (this.counts[i] > 0) b.push(i, this.counts[i]);
    }
    return { n: this.count, sum: this.sum, min: this.min, max: this.max, b };
  }

  static fromJSON(json: HistogramJson): Histogram {
    const h = new Histogram();
    h.merge(json);
    return h;
  }
}
