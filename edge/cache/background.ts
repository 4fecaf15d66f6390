/**
 * Work the cache starts without waiting for it (tier writes, revalidations, purges), kept so
 * `settled()` and `close()` can wait until it is done.
 */
import { errorFields, type Logger } from "../platform/log.ts";

/** A set of running background promises; failures are logged at debug level, never thrown. */
export class BackgroundWork {
  readonly #running = new Set<Promise<unknown>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Keeps `work` until it settles. */
  track(work: Promise<unknown>): void {
    const tracked = work.catch((error) => {
      this.#logger.debug("cache background work failed", errorFields(error));
    }).finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
  }

  /** Resolves when all work, including work started meanwhile, has settled. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}
