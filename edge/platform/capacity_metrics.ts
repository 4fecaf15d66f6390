/**
 * Gauges and counters about the process's capacity (connections, in-flight requests, shedding,
 * memory), read when /metrics is rendered, in the Prometheus text format. The parts that own the
 * numbers (the connection guard, admission, the memory releaser) register a reader once.
 */

/** Samples one part reports: metric name (without the `shop_` prefix) → value. */
export type CapacitySamples = Record<string, number>;

export interface CapacityMetrics {
  /** Adds a reader whose samples are rendered with every scrape. */
  register(read: () => CapacitySamples): void;
  /** Every sample now, process memory included. */
  samples(): CapacitySamples;
  /** The samples in the Prometheus text format. */
  render(): string;
}

/** An empty registry that always reports process memory. */
export function createCapacityMetrics(): CapacityMetrics {
  const readers: Array<() => CapacitySamples> = [];
  function samples(): CapacitySamples {
    const memory = Deno.memoryUsage();
    const all: CapacitySamples = {
      process_resident_memory_bytes: memory.rss,
      js_heap_used_bytes: memory.heapUsed,
      js_heap_total_bytes: memory.heapTotal,
      js_external_memory_bytes: memory.external,
    };
    for (const read of readers) Object.assign(all, read());
    return all;
  }
  return {
    register: (read) => void readers.push(read),
    samples,
    render() {
      const lines: string[] = [];
      for (const [name, value] of Object.entries(samples())) {
        const type = name.endsWith("_total") ? "counter" : "gauge";
        lines.push(`# TYPE shop_${name} ${type}`, `shop_${name} ${value}`);
      }
      return lines.join("\n") + "\n";
    },
  };
}
