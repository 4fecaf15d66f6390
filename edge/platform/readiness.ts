/** Result of one readiness evaluation, as served by `GET /readyz`. */
import { withTimeout } from "./timeout.ts";

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
  checkedAt: string;
}

export interface ReadinessOptions {
  /** How long a result is reused; probes inside the window never touch a dependency. */
  cacheMs?: number;
  /** Budget for each check before it counts as failed. */
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Creates a readiness probe over named dependency checks.
 *
 * Results are cached for `cacheMs` and concurrent callers share one evaluation, so a fleet of
 * load balancers probing every second costs each dependency at most one call per window.
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
  let cached: { report: ReadinessReport; at: number } | undefined;
  let inFlight: Promise<ReadinessReport> | undefined;

  async function evaluate(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), timeoutMs, name);
          return [name, { ok: true }] as const;
        } catch (error) {
          return [name, {
            ok: false,
            error: error instanceof Error ? error.message : "failed",
          }] as const;
        }
      }),
    );
    const results = Object.fromEntries(entries);
    return {
      ready: entries.every(([, result]) => result.ok),
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
