/**
 * The access-token denylist (logged-out `jti`s, kept until the token would have expired).
 *
 * Why an in-memory set: access tokens are verified on every authenticated request, and the
 * brief is "no database or Redis call on the happy path". So `has()` is a synchronous lookup in
 * a per-instance Map. `add()` (logout) writes the local Map first — the instance that served the
 * logout refuses the token at once — and then the shared store: Redis when configured (a sorted
 * set scored by logout time), otherwise Deno KV (also the fallback when Redis fails). Every
 * `pollMs` each instance pulls entries added since its last poll, so other instances refuse the
 * token within one poll interval plus one round trip to the shared store (250 ms by default: one
 * small KV range read and one Redis ZRANGE per instance, four times a second). A Redis round trip
 * per request would cost more than the 15-minute token lifetime risk it closes.
 *
 * The Map is bounded by time, not count: entries go when their token expires (≤ the access-token
 * lifetime), so its size is at most "logouts per token lifetime".
 */
import type { Redis } from "@upstash/redis";
import type { RevokedTokens } from "./middleware.ts";
import { createOutageBreaker } from "../platform/breaker.ts";
import { errorFields, type Logger } from "../platform/log.ts";
import { denylistKeys } from "../keys.ts";

/** Entries are re-read this far back on each poll, to cover clock skew between instances. */
const POLL_OVERLAP_MS = 5000;

export interface Denylist extends RevokedTokens {
  /** Refuses `jti` from now until `exp` (seconds since the epoch), here and on other instances. */
  add(jti: string, exp: number): Promise<void>;
  /** Pulls entries other instances added since the last poll. */
  poll(): Promise<void>;
  /** Stops polling and waits for a poll in progress. */
  close(): Promise<void>;
  readonly size: number;
}

export interface DenylistOptions {
  kv: Deno.Kv;
  redis?: Redis;
  logger?: Logger;
  /** Longest an entry can matter: the access-token lifetime. */
  maxTtlSeconds: number;
  /** 0 disables the background poll (tests call `poll()`). */
  pollMs: number;
}

/** Creates the denylist and loads the entries still in force; starts polling. */
export async function createDenylist(options: DenylistOptions): Promise<Denylist> {
  const { kv, redis, logger } = options;
  // While Redis is down, polls and logouts use KV alone: one log line per outage, not per poll.
  const redisHealth = createOutageBreaker({
    what: "denylist: redis",
    fallback: "using kv alone",
    logger,
  });
  const entries = new Map<string, number>();
  const maxTtlMs = options.maxTtlSeconds * 1000;
  let lastPoll = Date.now() - maxTtlMs;
  let polling: Promise<void> | undefined;

  function remember(jti: string, exp: number) {
    if (exp * 1000 > Date.now()) entries.set(jti, exp);
  }

  function prune() {
    const nowSeconds = Date.now() / 1000;
    for (const [jti, exp] of entries) if (exp <= nowSeconds) entries.delete(jti);
  }

  async function pollRedis(since: number): Promise<void> {
    const members = await redis!.zrange<string[]>(denylistKeys.redis, since, "+inf", {
      byScore: true,
    });
    for (const member of members) {
      const split = member.lastIndexOf(":");
      remember(member.slice(0, split), Number(member.slice(split + 1)));
    }
  }

  async function pollKv(since: number): Promise<void> {
    for await (
      const entry of kv.list<number>({
        start: [...denylistKeys.kvPrefix, since],
        end: [...denylistKeys.kvPrefix, Number.MAX_SAFE_INTEGER],
      })
    ) {
      remember(String(entry.key[2]), entry.value);
    }
  }

  async function poll(): Promise<void> {
    const started = Date.now();
    const since = lastPoll - POLL_OVERLAP_MS;
    // KV always: it holds what was written while Redis was unreachable.
    await pollKv(since);
    if (redis) {
      // Skipped or failed: keep lastPoll, so the next poll that reaches Redis covers the gap.
      if (!redisHealth.allow()) return;
      try {
        await pollRedis(since);
        redisHealth.succeed();
      } catch (error) {
        redisHealth.fail(error);
        return;
      }
    }
    lastPoll = started;
    prune();
  }

  const pollOnce = () => {
    polling ??= poll().catch((error) => {
      logger?.warn("denylist poll failed", errorFields(error));
    }).finally(() => (polling = undefined));
    return polling;
  };

  await poll();
  const timer = options.pollMs > 0 ? setInterval(pollOnce, options.pollMs) : undefined;
  if (timer !== undefined) Deno.unrefTimer(timer);

  return {
    has(jti) {
      const exp = entries.get(jti);
      return exp !== undefined && exp * 1000 > Date.now();
    },
    async add(jti, exp) {
      remember(jti, exp);
      const now = Date.now();
      const expireIn = Math.max(1000, exp * 1000 - now);
      if (redis && redisHealth.allow()) {
        try {
          await redis.multi()
            .zadd(denylistKeys.redis, { score: now, member: `${jti}:${exp}` })
            .zremrangebyscore(denylistKeys.redis, 0, now - maxTtlMs - POLL_OVERLAP_MS)
            .exec();
          redisHealth.succeed();
          return;
        } catch (error) {
          redisHealth.fail(error);
        }
      }
      await kv.set(denylistKeys.kvEntry(now, jti), exp, { expireIn });
    },
    poll: pollOnce,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      await polling;
    },
    get size() {
      return entries.size;
    },
  };
}
