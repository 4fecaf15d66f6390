/**
 * The shared Upstash Redis client (absent in the embedded default, where no URL is configured).
 */
import { Redis } from "@upstash/redis";

export interface RedisSettings {
  url: string;
  token: string;
}

/**
 * Creates an Upstash client whose every call gives up after `timeoutMs` and never retries:
 * callers treat Redis as optional and would rather skip it than wait.
 */
export function createRedisClient(
  settings: RedisSettings,
  options: {
    timeoutMs: number;
    /** Called as each HTTP request to Redis starts (a pipeline is one); for cross-region accounting. */
    onRequest?: () => void;
  },
): Redis {
  return new Redis({
    url: settings.url,
    token: settings.token,
    retry: { retries: 0 },
    // The client asks for a fresh signal per HTTP request: the one per-request hook it offers.
    signal: () => {
      options.onRequest?.();
      return AbortSignal.timeout(options.timeoutMs);
    },
    enableTelemetry: false,
    latencyLogging: false,
    keepAlive: true,
  });
}
