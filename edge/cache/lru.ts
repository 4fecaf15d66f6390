/**
 * A byte-bounded LRU with a tag index, the in-process L0 tier.
 */

interface Slot<V> {
  value: V;
  bytes: number;
  tags: readonly string[];
}

/** Least-recently-used map bounded by the summed byte size of its values, evictable by tag. */
export class ByteLru<V> {
  #slots = new Map<string, Slot<V>>();
  #byTag = new Map<string, Set<string>>();
  #bytes = 0;
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    if (!(maxBytes >= 0)) throw new RangeError(`LRU size must be at least 0, got ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Returns the value and marks it most recently used. */
  get(key: string): V | undefined {
    const slot = this.#slots.get(key);
    if (!slot) return undefined;
    // Map iteration order is insertion order: re-inserting moves the key to the young end.
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return slot.value;
  }

  /** Stores `value`, evicting the least recently used entries past the byte bound. */
  set(key: string, value: V, options: { bytes: number; tags: readonly string[] }): void {
    this.delete(key);
    if (options.bytes > this.maxBytes) return;
    this.#slots.set(key, { value, bytes: options.bytes, tags: options.tags });
    this.#bytes += options.bytes;
    for (const tag of options.tags) {
      let keys = this.#byTag.get(tag);
      if (!keys) this.#byTag.set(tag, keys = new Set());
      keys.add(key);
    }
    while (this.#bytes > this.maxBytes) {
      const oldest = this.#slots.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
  }

  delete(key: string): boolean {
    const slot = this.#slots.get(key);
    if (!slot) return false;
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
    for (const tag of slot.tags) {
      const keys = this.#byTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.#byTag.delete(tag);
    }
    return true;
  }

  /** Deletes every entry carrying `tag`; returns how many. */
  deleteTag(tag: string): number {
    const keys = this.#byTag.get(tag);
    if (!keys) return 0;
    let deleted = 0;
    for (const key of [...keys]) if (this.delete(key)) deleted++;
    return deleted;
  }

  clear(): void {
    this.#slots.clear();
    this.#byTag.clear();
    this.#bytes = 0;
  }
}
