/**
 * The outbox worker: carries out what orders queued in their own transaction (confirmation and
 * status mail, cache invalidation of products whose stock changed), off the request path.
 *
 * - Claims are atomic on the primary (db/outbox.ts), so any number of workers on any number of
 *   nodes share the rows without holding one twice; a worker that dies loses its lease.
 * - Handlers are idempotent: mail goes to the sink with a dedupe key in the same transaction that
 *   completes the row, and invalidating a tag twice is harmless.
 * - Failures retry with exponential backoff and jitter, then are dead-lettered (kept, never
 *   retried, visible in /metrics).
 * - It polls every `pollMs`; a commit on this node wakes it at once. Correctness never depends on
 *   the wake-up (nor on a KV queue, which Deno Deploy does not offer).
 */
import type { Database } from "../../db/client.ts";
import { getOrdersWithItems } from "../../db/orders.ts";
import type { ProductChange } from "../../db/admin_products.ts";
import {
  type ClaimedRow,
  claimOutboxRows,
  completeOutboxRows,
  failOutboxRow,
  type MailMessage,
  purgeExpired,
} from "../../db/outbox.ts";
import type { EdgeCache } from "../../edge/cache/cache.ts";
import { backoffDelay } from "../../edge/platform/backoff.ts";
import type { OutboxConfig } from "../../edge/platform/config.ts";
import { errorFields, type Logger } from "../../edge/platform/log.ts";
import { withTimeout } from "../../edge/platform/timeout.ts";
import { tagsForProductChange } from "../catalog/cache_keys.ts";
import type { OrderLinks } from "./links.ts";
import { isOrderMailKind, orderMail } from "./mail.ts";

export interface OutboxWorker {
  /** Drains soon instead of at the next poll (after a commit that queued rows). */
  wake(): void;
  /** Claims and handles one batch now; resolves with the number of rows claimed. */
  drainOnce(): Promise<number>;
  /** Stops the loop after the batch in flight. */
  close(): Promise<void>;
}

export interface OutboxWorkerDeps {
  database: Database;
  cache: EdgeCache;
  logger: Logger;
  config: OutboxConfig;
  links: OrderLinks;
  /** Prefix of links in mail, e.g. `https://shop.example`. */
  publicUrl: string;
  workerId?: string;
  random?: () => number;
}

/**
 * Commits that arrive within this window are drained together: a busy shop then claims, reads
 * and completes dozens of rows per round trip instead of one or two.
 */
const WAKE_COALESCE_MS = 100;
const INVALIDATION_BUDGET_MS = 5000;
const PURGE_EVERY_MS = 10 * 60_000;
const KEEP_DONE_MS = 7 * 86_400_000;
/** Payment event ids are kept well past the webhook's timestamp tolerance. */
const KEEP_PAYMENT_EVENTS_MS = 7 * 86_400_000;

/**
 * Creates the worker; its loop runs when `config.workerEnabled` (`drainOnce` works either way).
 *
 * @example
 * ```ts
 * const outbox = startOutboxWorker({ database, cache, logger, config: config.outbox, links,
 *   publicUrl: config.publicUrl });
 * // after a commit that queued rows:
 * outbox.wake();
 * ```
 */
export function startOutboxWorker(deps: OutboxWorkerDeps): OutboxWorker {
  const { logger, config } = deps;
  const workerId = deps.workerId ?? crypto.randomUUID();
  const handle = createHandlers(deps, workerId);
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let wokenWhileBusy = false;
  let failing = false;

  async function drainOnce(): Promise<number> {
    const rows = await claimOutboxRows(deps.database.writer, {
      workerId,
      limit: config.batchSize,
      leaseMs: config.leaseMs,
    });
    if (rows.length === 0) return 0;
    await Promise.all([
      handle.invalidations(rows.filter((row) => row.topic === "invalidate_products")),
      handle.mail(rows.filter((row) => row.topic === "order_mail")),
    ]);
    return rows.length;
  }

  async function loop(): Promise<void> {
    let nextPurge = Date.now();
    while (!stopped) {
      let claimed = 0;
      try {
        claimed = await drainOnce();
        if (Date.now() >= nextPurge) {
          nextPurge = Date.now() + PURGE_EVERY_MS;
          await purgeExpired(deps.database.writer, {
            now: Date.now(),
            keepDoneMs: KEEP_DONE_MS,
            paymentEventsMs: KEEP_PAYMENT_EVENTS_MS,
            limit: 1000,
          });
        }
        if (failing) logger.info("outbox worker recovered", { workerId });
        failing = false;
      } catch (error) {
        // Once per outage, not once per poll.
        if (!failing) {
          logger.warn("outbox worker cannot drain", { workerId, ...errorFields(error) });
        }
        failing = true;
      }
      if (stopped) break;
      if (claimed >= config.batchSize || wokenWhileBusy) {
        wokenWhileBusy = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          setTimeout(resolve, WAKE_COALESCE_MS);
        };
      });
      wakeUp = undefined;
    }
  }

  const running = config.workerEnabled ? loop() : Promise.resolve();
  return {
    wake() {
      if (!config.workerEnabled || stopped) return;
      if (wakeUp) {
        wakeUp();
        wakeUp = undefined;
      } else wokenWhileBusy = true;
    },
    drainOnce,
    async close() {
      stopped = true;
      wakeUp?.();
      await running;
    },
  };
}

/** The handlers per topic; each completes, retries or dead-letters every row it is given. */
function createHandlers(deps: OutboxWorkerDeps, workerId: string) {
  const { database, config } = deps;

  async function fail(row: ClaimedRow, error: unknown, options: { poison?: boolean } = {}) {
    const dead = options.poison === true || row.attempts >= config.maxAttempts;
    const delay = backoffDelay(row.attempts, {
      baseMs: config.retryBaseMs,
      maxMs: config.retryMaxMs,
      random: deps.random,
    });
    const message = error instanceof Error ? error.message : String(error);
    if (dead) {
      deps.logger.error("outbox row dead-lettered", {
        id: row.id,
        topic: row.topic,
        attempts: row.attempts,
        error: message,
      });
    }
    await failOutboxRow(database.writer, {
      workerId,
      id: row.id,
      error: message,
      retryAt: Date.now() + delay,
      dead,
    });
  }

  return {
    /** One invalidation for all rows' products; the tags are the same ones admin writes use. */
    async invalidations(rows: ClaimedRow[]): Promise<void> {
      if (rows.length === 0) return;
      const valid = rows.filter((row) => Array.isArray(row.payload.products));
      for (const row of rows) {
        if (!valid.includes(row)) await fail(row, "payload has no products", { poison: true });
      }
      const tags = new Set<string>();
      for (const row of valid) {
        for (const change of row.payload.products as ProductChange[]) {
          for (
            const tag of tagsForProductChange({ ...change, featured: Boolean(change.featured) })
          ) {
            tags.add(tag);
          }
        }
      }
      try {
        await withTimeout(deps.cache.invalidate([...tags]), INVALIDATION_BUDGET_MS, "invalidate");
      } catch (error) {
        for (const row of valid) await fail(row, error);
        return;
      }
      await completeOutboxRows(database.writer, { workerId, ids: valid.map((row) => row.id) });
    },

    /** Mail for every row: two reads for all their orders, one write for all messages. */
    async mail(rows: ClaimedRow[]): Promise<void> {
      if (rows.length === 0) return;
      const ids = [...new Set(rows.map((row) => String(row.payload.orderId)))];
      const found = await getOrdersWithItems(database.writer, ids);
      const messages: MailMessage[] = [];
      const delivered: number[] = [];
      for (const row of rows) {
        const order = found.get(String(row.payload.orderId));
        if (!isOrderMailKind(row.payload.kind)) {
          await fail(row, `unknown mail kind "${row.payload.kind}"`, { poison: true });
        } else if (!order) {
          await fail(row, `order "${row.payload.orderId}" not found`);
        } else {
          const link = deps.publicUrl + await deps.links.pagePath(order.id);
          messages.push(orderMail(order, row.payload.kind, link));
          delivered.push(row.id);
        }
      }
      await completeOutboxRows(database.writer, { workerId, ids: delivered, mail: messages });
    },
  };
}
