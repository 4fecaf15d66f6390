import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { openDatabase } from "../../db/client.ts";
import { runBatch, runStatement, statement } from "../../db/statements.ts";
import { createWriteGate, WriteQueueFullError } from "../../db/write_gate.ts";
import { startSqld } from "../services/sqld.ts";

Deno.test("[write gate] lets one write through at a time, in order", async () => {
  const gate = createWriteGate({ maxQueue: 10, maxWaitMs: 5000 });
  const order: string[] = [];
  let inside = 0;
  await Promise.all(["a", "b", "c"].map(async (name) => {
    const leave = await gate.enter();
    inside++;
    assert.equal(inside, 1);
    order.push(name);
    await new Promise((resolve) => setTimeout(resolve, 5));
    inside--;
    leave();
    leave(); // leaving twice opens the gate once
  }));
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.equal(gate.waiting, 0);
});

Deno.test("[write gate] a full queue or a long wait answers 503 at once", async () => {
  const gate = createWriteGate({ maxQueue: 1, maxWaitMs: 30 });
  const leave = await gate.enter();
  const waiting = gate.enter();
  await assert.rejects(gate.enter(), WriteQueueFullError);
  await assert.rejects(waiting, (error: WriteQueueFullError) => error.status === 503);
  leave();
  (await gate.enter())();
});

Deno.test("[write gate] a sqld primary keeps taking writes from two busy shop instances", async () => {
  const primary = await startSqld();
  const settings = { url: primary.httpUrl, syncIntervalSeconds: 1, timeoutMs: 10_000 };
  const nodes = [openDatabase(settings), openDatabase(settings)];
  try {
    const db = nodes[0].writer;
    await db.run(sql`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, pad TEXT)`);
    await db.run(sql`CREATE TABLE s (id INTEGER PRIMARY KEY, n INTEGER)`);
    await db.run(sql`INSERT INTO s VALUES (1, 0)`);
    let n = 0;
    // Without the gate this mix of 64 concurrent reads and write batches per round wedged the
    // primary within three rounds.
    for (let round = 0; round < 12; round++) {
      await Promise.all(Array.from({ length: 128 }, (_, i) => {
        const node = nodes[i % 2].writer;
        const key = `k${n++}`;
        return Promise.all([
          runStatement(node, statement("SELECT * FROM t WHERE k = ?", [key])),
          runBatch(node, [
            statement("INSERT INTO t (k, pad) VALUES (?, ?)", [key, "x".repeat(500)]),
            statement("UPDATE s SET n = n + 1 WHERE id = 1"),
          ]),
        ]);
      }));
    }
    const [row] = await db.all<{ n: number }>(sql`SELECT n FROM s`);
    assert.equal(row.n, 12 * 128);
  } finally {
    for (const node of nodes) node.close();
    await primary.stop();
  }
});
