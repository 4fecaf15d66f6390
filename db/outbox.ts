/**
 * The transactional outbox: rows written in the same transaction as the change that causes
 * them (see place_order.ts and orders.ts), claimed by workers with a lease, and completed,
 * retried or dead-lettered.
 *
 * A claim is one UPDATE … RETURNING, atomic on the primary, so two workers (on one node or
 * many) never hold the same row at once; a worker that dies loses its lease and the row
 * becomes claimable again. Delivery can therefore repeat, never vanish: handlers are idempotent
 * (mail carries a dedupe key, cache invalidation is naturally repeatable).
 */
import { and, count, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import {
  idempotencyKeys,
  mailMessages,
  outbox,
  type OutboxTopic,
  paymentEvents,
} from "./schema.ts";

export interface ClaimedRow {
  id: number;
  topic: OutboxTopic;
  payload: Record<string, unknown>;
  /** Attempts including this one. */
  attempts: number;
}

/** A message for the mail sink; `dedupeKey` makes a second delivery of it a no-op. */
export interface MailMessage {
  dedupeKey: string;
  recipient: string;
  subject: string;
  body: string;
}

/**
 * Claims up to `limit` due rows for `workerId` until `now + leaseMs`, oldest first.
 *
 * @example
 * ```ts
 * const rows = await claimOutboxRows(db.writer, { workerId, limit: 100, leaseMs: 30_000 });
 * ```
 */
export async function claimOutboxRows(
  writer: Db,
  options: { workerId: string; limit: number; leaseMs: number; now?: number },
): Promise<ClaimedRow[]> {
  const now = options.now ?? Date.now();
  const rows = await writer.all<
    { id: number; topic: OutboxTopic; payload: string; attempts: number }
  >(sql`
    UPDATE outbox SET claimed_by = ${options.workerId}, attempts = attempts + 1,
      available_at = ${now + options.leaseMs}, updated_at = ${now}
    WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND available_at <= ${now}
      ORDER BY available_at, id LIMIT ${options.limit})
    RETURNING id, topic, payload, attempts`);
  return rows.map((row) => ({ ...row, payload: JSON.parse(row.payload) }))
    .sort((a, b) => a.id - b.id);
}

/**
 * Marks rows done, delivering `mail` in the same transaction (a message whose dedupe key was
 * delivered before is skipped, so a repeated delivery sends nothing twice).
 */
export async function completeOutboxRows(
  writer: Db,
  options: { workerId: string; ids: number[]; mail?: MailMessage[]; now?: number },
): Promise<void> {
  if (options.ids.length === 0) return;
  const now = options.now ?? Date.now();
  const mail = options.mail ?? [];
  const done = writer.update(outbox)
    .set({ state: "done", claimedBy: null, lastError: null, updatedAt: now })
    .where(and(inArray(outbox.id, options.ids), eq(outbox.claimedBy, options.workerId)));
  if (mail.length === 0) {
    await done;
    return;
  }
  await writer.batch([
    writer.insert(mailMessages).values(mail.map((message) => ({ ...message, createdAt: now })))
      .onConflictDoNothing({ target: mailMessages.dedupeKey }),
    done,
  ]);
}

/**
 * Records a failed attempt: the row is due again at `retryAt`, or dead-lettered when `dead`
 * (kept with its last error for an operator, never retried).
 */
export async function failOutboxRow(
  writer: Db,
  options: { workerId: string; id: number; error: string; retryAt: number; dead: boolean },
): Promise<void> {
  await writer.update(outbox).set({
    state: options.dead ? "dead" : "pending",
    availableAt: options.retryAt,
    claimedBy: null,
    lastError: options.error.slice(0, 500),
    updatedAt: Date.now(),
  }).where(and(eq(outbox.id, options.id), eq(outbox.claimedBy, options.workerId)));
}

/** Rows waiting and dead-lettered (for /metrics and tests); finished rows are not counted. */
export async function countOutboxRows(reader: Db): Promise<{ pending: number; dead: number }> {
  const rows = await reader.select({ state: outbox.state, n: count() }).from(outbox)
    .where(inArray(outbox.state, ["pending", "dead"])).groupBy(outbox.state);
  const counts = { pending: 0, dead: 0 };
  for (const row of rows) counts[row.state as "pending" | "dead"] = row.n;
  return counts;
}

/**
 * Deletes what has outlived its purpose, a bounded number of rows per call: finished outbox
 * rows older than `keepMs`, expired idempotency keys, and payment event ids older than the
 * webhook's replay window (an older event is refused by its timestamp anyway).
 */
export async function purgeExpired(
  writer: Db,
  options: { now: number; keepDoneMs: number; paymentEventsMs: number; limit: number },
): Promise<void> {
  const { now, limit } = options;
  await writer.batch([
    writer.delete(outbox).where(inArray(
      outbox.id,
      writer.select({ id: outbox.id }).from(outbox)
        .where(and(eq(outbox.state, "done"), lt(outbox.availableAt, now - options.keepDoneMs)))
        .limit(limit),
    )),
    writer.run(sql`DELETE FROM ${idempotencyKeys} WHERE rowid IN (SELECT rowid FROM
      ${idempotencyKeys} WHERE ${idempotencyKeys.expiresAt} < ${now} LIMIT ${limit})`),
    writer.delete(paymentEvents).where(inArray(
      paymentEvents.id,
      writer.select({ id: paymentEvents.id }).from(paymentEvents)
        .where(lt(paymentEvents.receivedAt, now - options.paymentEventsMs)).limit(limit),
    )),
  ]);
}
