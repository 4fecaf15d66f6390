/**
 * Load shedding that answers fast: a request the shop cannot serve well right now gets a 503
 * with `Retry-After` in microseconds, instead of queueing until it times out.
 *
 * Two signals, as in Fastify's under-pressure and CoDel:
 * - **in-flight requests** (memory and downstream work): at most `maxInFlight` run at once;
 *   high-priority requests beyond that wait in a bounded queue for up to `queueTimeoutMs`,
 *   low-priority ones are refused;
 * - **event-loop delay** (CPU): on one JS thread, a saturated CPU shows as timers firing late
 *   — every request then waits that long before its handler even starts, which no in-flight
 *   count sees. When the *least* delay over the last 250 ms (a standing queue, not a burst)
 *   exceeds `lowPriorityLagMs`, low-priority requests are refused; above `highPriorityLagMs`,
 *   high-priority ones too.
 *
 * Priorities come from `priorityOf`: "critical" (health, metrics) is never refused, "high" (the
 * catalog) is refused last, "low" (sign-in and accounts, whose password hashing costs a core)
 * first.
 */

export type Priority = "critical" | "high" | "low";

export interface AdmissionOptions {
  maxInFlight: number;
  /** High-priority requests that may wait for a slot. */
  queueLimit: number;
  queueTimeoutMs: number;
  lowPriorityLagMs: number;
  highPriorityLagMs: number;
  priorityOf(request: Request): Priority;
  /** The refusal: a 503 carrying `Retry-After: retryAfterSeconds`. */
  onShed(request: Request, retryAfterSeconds: number): Response;
}

export type ShedReason = "in_flight" | "queue_timeout" | "event_loop_delay";

/** Counters and gauges for /metrics. */
export interface AdmissionStats {
  inFlight: number;
  queued: number;
  /** The standing event-loop delay right now, in ms. */
  lagMs: number;
  admitted: Record<Priority, number>;
  shed: Record<`${Exclude<Priority, "critical">}_${ShedReason}`, number>;
}

type Handler<Info> = (request: Request, info: Info) => Promise<Response>;

interface Waiter {
  since: number;
  admit: () => void;
  refuse: () => void;
}

const LAG_PROBE_MS = 20;
const LAG_WINDOW_MS = 250;
const LAG_SAMPLES = 16;

/** Wraps `handler` with admission control; `close()` stops the event-loop probe. */
export function withAdmission<Info>(handler: Handler<Info>, options: AdmissionOptions) {
  const lag = createLagProbe();
  const queue: Waiter[] = [];
  let inFlight = 0;
  const stats: AdmissionStats = {
    inFlight: 0,
    queued: 0,
    lagMs: 0,
    admitted: { critical: 0, high: 0, low: 0 },
    shed: {
      high_in_flight: 0,
      high_queue_timeout: 0,
      high_event_loop_delay: 0,
      low_in_flight: 0,
      low_queue_timeout: 0,
      low_event_loop_delay: 0,
    },
  };
  // Waiters past their time are refused by one sweep, not a timer each; it runs only while
  // someone waits.
  let sweeper: ReturnType<typeof setInterval> | undefined;
  function sweep(): void {
    const now = performance.now();
    while (queue.length > 0 && now - queue[0].since > options.queueTimeoutMs) {
      queue.shift()!.refuse();
    }
    if (queue.length === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }

  function release(): void {
    const next = queue.shift();
    if (next) next.admit(); // the slot passes straight on; inFlight stays the same
    else inFlight--;
  }

  function shed(request: Request, priority: "high" | "low", reason: ShedReason): Response {
    stats.shed[`${priority}_${reason}`]++;
    const retryAfter = Math.max(1, Math.ceil(lag.standing() / 1000) + (priority === "low" ? 4 : 0));
    return options.onShed(request, retryAfter);
  }

  async function run(request: Request, info: Info): Promise<Response> {
    try {
      return await handler(request, info);
    } finally {
      release();
    }
  }

  const admitted = async (request: Request, info: Info): Promise<Response> => {
    const priority = options.priorityOf(request);
    if (priority === "critical") {
      stats.admitted.critical++;
      return handler(request, info);
    }
    const delay = lag.standing();
    if (delay > (priority === "low" ? options.lowPriorityLagMs : options.highPriorityLagMs)) {
      return shed(request, priority, "event_loop_delay");
    }
    if (inFlight < options.maxInFlight) {
      inFlight++;
      stats.admitted[priority]++;
      return run(request, info);
    }
    if (priority === "low" || queue.length >= options.queueLimit) {
      return shed(request, priority, "in_flight");
    }
    sweeper ??= setInterval(sweep, Math.max(10, Math.min(100, options.queueTimeoutMs / 4)));
    const slot = await new Promise<boolean>((resolve) => {
      queue.push({
        since: performance.now(),
        admit: () => resolve(true),
        refuse: () => resolve(false),
      });
    });
    if (!slot) return shed(request, priority, "queue_timeout");
    stats.admitted[priority]++;
    return run(request, info);
  };

  return {
    handler: admitted,
    stats(): AdmissionStats {
      return { ...stats, inFlight, queued: queue.length, lagMs: lag.standing() };
    },
    close(): void {
      clearInterval(sweeper);
      for (const waiter of queue.splice(0)) waiter.refuse();
      lag.stop();
    },
  };
}

/**
 * Measures how late a 20 ms timer fires. `standing()` is the least delay among the firings of
 * the last 250 ms — high only when every one of them was late, a standing queue rather than one
 * long task — or how late the next firing already is, when the loop has been stuck since.
 */
export function createLagProbe() {
  const delays = new Float64Array(LAG_SAMPLES);
  const times = new Float64Array(LAG_SAMPLES).fill(-Infinity);
  let index = 0;
  let expected = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A timeout re-armed after each firing rather than an interval: an interval that fell behind
  // fires its missed ticks back to back, and those near-zero delays would hide the backlog.
  function arm(): void {
    expected = performance.now() + LAG_PROBE_MS;
    timer = setTimeout(() => {
      const now = performance.now();
      delays[index % LAG_SAMPLES] = Math.max(0, now - expected);
      times[index++ % LAG_SAMPLES] = now;
      arm();
    }, LAG_PROBE_MS);
    Deno.unrefTimer(timer);
  }
  arm();
  return {
    standing(): number {
      const now = performance.now();
      let least = Infinity;
      for (let i = 0; i < LAG_SAMPLES; i++) {
        if (now - times[i] <= LAG_WINDOW_MS) least = Math.min(least, delays[i]);
      }
      return Math.max(least === Infinity ? 0 : least, now - expected);
    },
    stop: () => clearTimeout(timer),
  };
}
