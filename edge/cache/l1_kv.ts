/**
 * L1: Deno KV, one per edge node. Entries up to KV's 64 KiB value limit are stored as they are,
 * larger ones gzip-compressed, and ones still too large after compression skip L1.
 *
 * Bounded in size: every entry expires with its stale-if-error window, and a generation holds at
 * most `maxEntries` keys. The write that would pass the bound starts a new generation (one
 * atomic write) and the older generations are deleted in the background, so a flood of unique
 * URLs costs at most two generations of entries on disk.
 */
import type { CacheEntry } from "./entry.ts";
import { isCacheEntry } from "./entry.ts";
import { kvCacheKeys } from "../keys.ts";
import { withTimeout } from "../platform/timeout.ts";

/** Stay well under KV's 65,536-byte value limit (the entry's other fields take some room). */
const KV_BODY_LIMIT = 60_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type StoredEntry = Omit<CacheEntry, "body"> & { body?: string; gzipBody?: Uint8Array };

/** Keys deleted per atomic operation when old generations are purged (KV allows 1,000). */
const PURGE_BATCH = 500;
/** Budget for one list or commit of the background purge. */
const PURGE_CALL_MS = 5000;

/** Outcome of a write: stored, or skipped because the value is too large even compressed. */
export type KvWriteResult = "stored" | "too_large";

/** The L1 tier over one `Deno.Kv`. */
export class KvTier {
  #kv: Deno.Kv;
  readonly maxEntries: number;
  generation: number;
  /** Distinct keys written in this generation (persisted, so a restart keeps counting). */
  #entries: number;
  /** Keys this process wrote in this generation; a rewrite does not count again. */
  #written = new Set<string>();
  /** Whether keys of other generations may still be on disk (true until a purge finds none). */
  #otherGenerations = true;

  constructor(kv: Deno.Kv, options: { generation: number; entries: number; maxEntries: number }) {
    this.#kv = kv;
    this.generation = options.generation;
    this.#entries = options.entries;
    this.maxEntries = options.maxEntries;
  }

  /** Reads the persisted generation, its entry count and the last applied invalidation sequence. */
  static async open(
    kv: Deno.Kv,
    options: { maxEntries: number },
  ): Promise<{ tier: KvTier; invalidationSeq?: number }> {
    const [generation, seq] = await kv.getMany<[number, number]>([
      kvCacheKeys.generation,
      kvCacheKeys.invalidationSeq,
    ]);
    const current = generation.value ?? 0;
    const entries = await kv.get<Deno.KvU64>(kvCacheKeys.entryCount(current));
    return {
      tier: new KvTier(kv, {
        generation: current,
        entries: Number(entries.value?.value ?? 0n),
        maxEntries: options.maxEntries,
      }),
      invalidationSeq: seq.value ?? undefined,
    };
  }

  /** Distinct keys written in the current generation (an upper bound of its entries). */
  get entries(): number {
    return this.#entries;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const { value } = await this.#kv.get<StoredEntry>(kvCacheKeys.entry(this.generation, key));
    if (!value) return undefined;
    const { gzipBody, ...rest } = value;
    const entry = gzipBody ? { ...rest, body: await gunzip(gzipBody) } : rest;
    return isCacheEntry(entry) ? entry : undefined;
  }

  /** Writes the entry and one index key per tag in one atomic operation, expiring with it. */
  async set(key: string, entry: CacheEntry, ttlMs: number): Promise<KvWriteResult> {
    let stored: StoredEntry = entry;
    const bytes = encoder.encode(entry.body).length;
    if (bytes > KV_BODY_LIMIT) {
      const gzipBody = await gzip(entry.body);
      if (gzipBody.length > KV_BODY_LIMIT) return "too_large";
      const { body: _, ...rest } = entry;
      stored = { ...rest, gzipBody };
    }
    const expireIn = Math.max(1000, Math.round(ttlMs));
    const op = this.#kv.atomic();
    if (!this.#written.has(key)) {
      if (this.#entries >= this.maxEntries) this.#startGeneration(op);
      this.#written.add(key);
      this.#entries++;
      op.sum(kvCacheKeys.entryCount(this.generation), 1n);
    }
    op.set(kvCacheKeys.entry(this.generation, key), stored, { expireIn });
    for (const tag of entry.tags) {
      op.set(kvCacheKeys.tagIndex(this.generation, tag, key), 1, { expireIn });
    }
    const result = await op.commit();
    if (!result.ok) throw new Error(`KV write of cache key "${key}" failed`);
    return "stored";
  }

  /** Deletes every entry indexed under `tag` (a list of that one tag's prefix, never a scan). */
  async deleteTag(tag: string): Promise<number> {
    const indexKeys: Deno.KvKey[] = [];
    for await (
      const item of this.#kv.list({ prefix: kvCacheKeys.tagPrefix(this.generation, tag) })
    ) {
      indexKeys.push(item.key);
    }
    for (let start = 0; start < indexKeys.length; start += 400) {
      const op = this.#kv.atomic();
      for (const indexKey of indexKeys.slice(start, start + 400)) {
        op.delete(indexKey);
        op.delete(kvCacheKeys.entry(this.generation, String(indexKey[indexKey.length - 1])));
      }
      await op.commit();
    }
    return indexKeys.length;
  }

  /** Orphans every L1 entry at once by moving to a new generation (`purgeOldGenerations` deletes them). */
  async bumpGeneration(): Promise<void> {
    const op = this.#kv.atomic();
    this.#startGeneration(op);
    await op.commit();
  }

  /** True when keys of another generation than the current one may still be on disk. */
  get hasOtherGenerations(): boolean {
    return this.#otherGenerations;
  }

  /** Deletes every key of the generations other than the current one; returns how many. */
  async purgeOtherGenerations(): Promise<number> {
    this.#otherGenerations = false;
    let deleted = 0;
    while (true) {
      // Recomputed per batch: a new generation may start while the purge runs.
      const keys = [
        ...await this.#listKeys({
          prefix: kvCacheKeys.all,
          end: kvCacheKeys.generationStart(this.generation),
        }),
        ...await this.#listKeys({
          prefix: kvCacheKeys.all,
          start: kvCacheKeys.generationStart(this.generation + 1),
        }),
      ];
      if (keys.length === 0) return deleted;
      const op = this.#kv.atomic();
      for (const key of keys) op.delete(key);
      await withTimeout(op.commit(), PURGE_CALL_MS, "KV cache purge");
      deleted += keys.length;
    }
  }

  async #listKeys(selector: Deno.KvListSelector): Promise<Deno.KvKey[]> {
    const keys: Deno.KvKey[] = [];
    const listing = (async () => {
      for await (const item of this.#kv.list(selector, { limit: PURGE_BATCH / 2 })) {
        keys.push(item.key);
      }
    })();
    await withTimeout(listing, PURGE_CALL_MS, "KV cache purge list");
    return keys;
  }

  /** Moves writes to a new generation, recorded in `op` so it lands with the write that needs it. */
  #startGeneration(op: Deno.AtomicOperation): void {
    this.generation++;
    this.#entries = 0;
    this.#written.clear();
    this.#otherGenerations = true;
    op.set(kvCacheKeys.generation, this.generation);
  }

  async saveInvalidationSeq(seq: number): Promise<void> {
    await this.#kv.set(kvCacheKeys.invalidationSeq, seq);
  }
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([encoder.encode(text)]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gunzip(bytes: Uint8Array): Promise<string> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return decoder.decode(await new Response(stream).arrayBuffer());
}
