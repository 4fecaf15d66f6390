/**
 * The cross-node refresh lease: one node loads a key from the origin while the others wait for
 * its result in L2. Held in Redis through its guard, so an unreachable Redis grants the lease
 * (each node then loads for itself, as without L2).
 */
import type { RedisTier } from "./l2_redis.ts";
import type { TierGuard } from "./tier_guard.ts";

/** Takes and releases refresh leases in L2. */
export class Leases {
  readonly #tier: RedisTier;
  readonly #guard: TierGuard;
  readonly #leaseMs: number;

  constructor(tier: RedisTier, guard: TierGuard, leaseMs: number) {
    this.#tier = tier;
    this.#guard = guard;
    this.#leaseMs = leaseMs;
  }

  /** True while Redis is declared down (waiting on another node is pointless then). */
  get down(): boolean {
    return this.#guard.down;
  }

  /** Takes the lease of `key`; false when another node holds it. */
  acquire(key: string): Promise<boolean> {
    return this.#guard.run(() => this.#tier.acquireLease(key, this.#leaseMs), true);
  }

  /** Releases the lease of `key` if this node still holds it. */
  async release(key: string): Promise<void> {
    await this.#guard.run(() => this.#tier.releaseLease(key), undefined);
  }
}
