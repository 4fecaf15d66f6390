/**
 * One write at a time from this process to a remote primary.
 *
 * sqld parks a writer that cannot take the write lock inside its WAL wrapper; under a steady mix
 * of reads and concurrent writes its checkpoint then starves and every write stalls until the
 * server is restarted (tursodatabase/libsql#1955, libsql/sqld#715). Measured here: 64 write
 * batches in flight from two clients wedged a sqld primary within seconds (four per client did
 * too), while one at a time per client ran 7,680 batches without an error. So writes queue here
 * instead — a bounded queue with a bounded wait, answered 503 beyond either — and reads never
 * wait. An embedded file needs none of this: its statements run synchronously.
 */
import type { Client, InStatement, Transaction, TransactionMode } from "@libsql/client";
import { UnavailableError } from "../edge/platform/errors.ts";

/** Too many writes are waiting for the primary; the client should retry shortly. */
export class WriteQueueFullError extends UnavailableError {
  override name = "WriteQueueFullError";
  constructor() {
    super("The shop is very busy right now; please retry in a moment", 1);
  }
}

export interface WriteGate {
  /** Waits for the gate; resolves with the function that opens it again. */
  enter(): Promise<() => void>;
  /** Writes waiting right now. */
  readonly waiting: number;
}

/** A gate letting one write through at a time, with at most `maxQueue` waiting `maxWaitMs`. */
export function createWriteGate(options: { maxQueue: number; maxWaitMs: number }): WriteGate {
  let busy = false;
  const queue: { admit: () => void; timer: ReturnType<typeof setTimeout> }[] = [];
  function release() {
    const next = queue.shift();
    if (!next) {
      busy = false;
      return;
    }
    clearTimeout(next.timer);
    next.admit();
  }
  function once(fn: () => void): () => void {
    let done = false;
    return () => {
      if (!done) {
        done = true;
        fn();
      }
    };
  }
  return {
    get waiting() {
      return queue.length;
    },
    enter() {
      if (!busy) {
        busy = true;
        return Promise.resolve(once(release));
      }
      if (queue.length >= options.maxQueue) return Promise.reject(new WriteQueueFullError());
      return new Promise((resolve, reject) => {
        const entry = {
          admit: () => resolve(once(release)),
          timer: setTimeout(() => {
            queue.splice(queue.indexOf(entry), 1);
            reject(new WriteQueueFullError());
          }, options.maxWaitMs),
        };
        queue.push(entry);
      });
    },
  };
}

const READ_ONLY = /^\s*(SELECT|EXPLAIN)\b/i;

function isRead(statement: InStatement): boolean {
  return READ_ONLY.test(typeof statement === "string" ? statement : statement.sql);
}

/**
 * Sends `client`'s writes through `gate`: batches and statements that change anything, and
 * interactive transactions (held from begin to commit, rollback or close).
 */
export function serializeWrites(client: Client, gate: WriteGate): Client {
  async function gated<T>(run: () => Promise<T>): Promise<T> {
    const leave = await gate.enter();
    try {
      return await run();
    } finally {
      leave();
    }
  }
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (property === "execute") {
        return (statement: InStatement, ...rest: unknown[]) =>
          isRead(statement)
            ? value.call(target, statement, ...rest)
            : gated(() => value.call(target, statement, ...rest));
      }
      if (property === "batch") {
        return (statements: InStatement[], ...rest: unknown[]) =>
          statements.every(isRead)
            ? value.call(target, statements, ...rest)
            : gated(() => value.call(target, statements, ...rest));
      }
      if (property === "executeMultiple" || property === "migrate") {
        return (...args: unknown[]) => gated(() => value.apply(target, args));
      }
      if (property === "transaction") {
        return async (mode?: TransactionMode) => {
          const leave = await gate.enter();
          try {
            return holdUntilSettled(await value.call(target, mode) as Transaction, leave);
          } catch (error) {
            leave();
            throw error;
          }
        };
      }
      return value.bind(target);
    },
  });
}

/** A transaction that opens the gate once it commits, rolls back or closes. */
function holdUntilSettled(transaction: Transaction, leave: () => void): Transaction {
  return new Proxy(transaction, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (property === "commit" || property === "rollback") {
        return async (...args: unknown[]) => {
          try {
            return await value.apply(target, args);
          } finally {
            leave();
          }
        };
      }
      if (property === "close") {
        return (...args: unknown[]) => {
          leave();
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
}
