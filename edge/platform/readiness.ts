/** Readiness of this instance and its dependencies, as served by `GET /readyz`. */
import { AppError } from "./errors.ts";
import { TimeoutError, withTimeout } from "./timeout.ts";

export type CheckResults = Record<string, { ok: boolean; error?: string }>;

export interface ReadinessReport {
  /**
   * `ok`: every dependency answers; `degraded`: some do not, but this instance still serves
   * (named in `down`); `unavailable`: it cannot serve its essential traffic.
   */
  status: "ok" | "degraded" | "unavailable";
  /** Whether a load balancer should send traffic here (`status` is not `unavailable`). */
  ready: boolean;
  /** The failing checks, e.g. `["primary"]` while writes are refused. */
  down: string[];
  checks: CheckResults;
  checkedAt: string;
}

export interface ReadinessOptions {
  /** How long a result is reused; probes inside the window never touch a dependency. */
  cacheMs?: number;
  /** Budget for each check before it counts as failed. */
  timeoutMs?: number;
  /** Whether the instance can serve with these results; default: only when every check passes. */
  serves?: (checks: CheckResults) => boolean;
  now?: () => number;
}

/**
 * Creates a readiness probe over named dependency checks.
 *
 * Results are cached for `cacheMs` and concurrent callers share one evaluation, so a fleet of
 * load balancers probing every second costs each dependency at most one call per window.
 * Failures are reported by our own message (timeouts, unavailable dependencies) or by the error's
 * name: a driver's message can name internal hosts, and this report is public.
 *
 * @example
 * const probe = createReadinessProbe({ database: () => db.ping() }, { cacheMs: 5000 });
 * const report = await probe();
 */
export function createReadinessProbe(
  checks: Record<string, () => Promise<unknown>>,
  options: ReadinessOptions = {},
): () => Promise<ReadinessReport> {
  const cacheMs = options.cacheMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 1000;
  const now = options.now ?? Date.now;
  const serves = options.serves ??
    ((results: CheckResults) => Object.values(results).every((result) => result.ok));
  let cached: { report: ReadinessReport; at: number } | undefined;
  let inFlight: Promise<ReadinessReport> | undefined;

  async function evaluate(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), timeoutMs, name);
          return [name, { ok: true }] as const;
        } catch (error) {
          return [name, { ok: false, error: describe(error) }] as const;
        }
      }),
    );
    const results: CheckResults = Object.fromEntries(entries);
    const down = entries.filter(([, result]) => !result.ok).map(([name]) => name);
    const ready = serves(results);
    return {
      status: down.length === 0 ? "ok" : ready ? "degraded" : "unavailable",
      ready,
      down,
      checks: results,
      checkedAt: new Date(now()).toISOString(),
    };
  }

  return () => {
    if (cached && now() - cached.at < cacheMs) return Promise.resolve(cached.report);
    inFlight ??= evaluate().then((report) => {
      cached = { report, at: now() };
      return report;
    }).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

function describe(error: unknown): string {
  if (error instanceof TimeoutError || error instanceof AppError) return error.message;
  return error instanceof Error ? error.name : "failed";
}
