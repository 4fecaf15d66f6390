/**
 * L1: Deno KV, one per edge node. Entries up to KV's 64 KiB value limit are stored as they are,
 * larger ones gzip-compressed, and ones still too large after compression skip L1.
 */
import type { CacheEntry } from "./entry.ts";
import { isCacheEntry } from "./entry.ts";
import { kvCacheKeys } from "../keys.ts";

/** Stay well under KV's 65,536-byte value limit (the entry's other fields take some room). */
const KV_BODY_LIMIT = 60_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type StoredEntry = Omit<CacheEntry, "body"> & { body?: string; gzipBody?: Uint8Array };

/** Outcome of a write: stored, or skipped because the value is too large even compressed. */
export type KvWriteResult = "stored" | "too_large";

/** The L1 tier over one `Deno.Kv`. */
export class KvTier {
  #kv: Deno.Kv;
  generation: number;

  constructor(kv: Deno.Kv, generation: number) {
    this.#kv = kv;
    this.generation = generation;
  }

  /** Reads the persisted generation and last applied invalidation sequence. */
  static async open(kv: Deno.Kv): Promise<{ tier: KvTier; invalidationSeq?: number }> {
    const [generation, seq] = await kv.getMany<[number, number]>([
      kvCacheKeys.generation,
      kvCacheKeys.invalidationSeq,
    ]);
    return {
      tier: new KvTier(kv, generation.value ?? 0),
      invalidationSeq: seq.value ?? undefined,
    };
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
    const op = this.#kv.atomic().set(kvCacheKeys.entry(this.generation, key), stored, { expireIn });
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

  /** Orphans every L1 entry at once by moving to a new generation (old ones expire by TTL). */
  async bumpGeneration(): Promise<void> {
    this.generation++;
    await this.#kv.set(kvCacheKeys.generation, this.generation);
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
