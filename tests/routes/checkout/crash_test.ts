/**
 * An accepted order survives the shop process dying between the commit and its side effects:
 * the shop runs as a real subprocess on a sqld primary, is SIGKILLed after the checkout
 * answered, and the instances started afterwards deliver the confirmation exactly once.
 */
import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { mailMessages, orders, outbox } from "../../../db/schema.ts";
import { freePort, waitForOk } from "../../bench/shop_process.ts";
import { openTestServices } from "../../fixtures.ts";
import { startSqld } from "../../services/sqld.ts";
import { guestCheckout, stockedVariants } from "./shopper.ts";

const ROOT = decodeURIComponent(new URL("../../../", import.meta.url).pathname);
const SECRET = "crash-test-secret-shared-by-every-instance";

interface ShopChild {
  url: string;
  child: Deno.ChildProcess;
  dataDir: string;
}

async function startShopProcess(databaseUrl: string, env: Record<string, string>) {
  const dataDir = await Deno.makeTempDir({ prefix: "crash-shop-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "--allow-all", "main.ts"],
    cwd: ROOT,
    env: {
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      DATABASE_TIMEOUT_MS: "15000",
      SHOP_SECRET: SECRET,
      SEED_IF_EMPTY: "false",
      LOG_LEVEL: "error",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const shop: ShopChild = { url: `http://127.0.0.1:${port}`, child, dataDir };
  await Promise.race([
    waitForOk(`${shop.url}/healthz`, 60_000),
    child.status.then((s) => Promise.reject(new Error(`shop exited with ${s.code}`))),
  ]).catch(async (error) => {
    await kill(shop, "SIGKILL");
    throw error;
  });
  return shop;
}

async function kill(shop: ShopChild, signal: Deno.Signal): Promise<void> {
  try {
    shop.child.kill(signal);
  } catch {
    // already exited
  }
  await shop.child.status;
  await Deno.remove(shop.dataDir, { recursive: true }).catch(() => {});
}

/** A tiny cookie-keeping client for the subprocess. */
function browser(url: string) {
  const jar = new Map<string, string>();
  return async (method: string, path: string, json?: unknown, headers = {}) => {
    const response = await fetch(url + path, {
      method,
      headers: {
        "content-type": "application/json",
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
        ...headers,
      },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      jar.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
    }
    return { status: response.status, body: await response.json() };
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("[checkout] SIGKILL after the commit loses nothing: the restarted shops mail the confirmation once", async () => {
  const primary = await startSqld();
  const shops: ShopChild[] = [];
  const seed = await openTestServices({
    productCount: 20,
    env: { DATABASE_URL: primary.httpUrl, OUTBOX_WORKER: "false", SHOP_SECRET: SECRET },
  });
  try {
    const db = seed.services.database.writer;
    const [variant] = await stockedVariants(db, { minStock: 2, count: 1 });
    // The first shop's worker is off: its process dies with the side effects not yet run.
    const doomed = await startShopProcess(primary.httpUrl, { OUTBOX_WORKER: "false" });
    shops.push(doomed);
    const send = browser(doomed.url);
    assert.equal((await send("POST", "/api/cart/items", { variantId: variant.id })).status, 201);
    const placed = await send("POST", "/api/checkout", guestCheckout(), {
      "idempotency-key": "crash-1",
    });
    assert.equal(placed.status, 201);
    const orderId = placed.body.order.id as string;
    await kill(doomed, "SIGKILL");

    const [order] = await db.select().from(orders).where(eq(orders.id, orderId));
    assert.equal(order?.status, "pending", "the order committed before the answer");
    const confirmation = sql`json_extract(${outbox.payload}, '$.orderId') = ${orderId}`;
    const [queued] = await db.select().from(outbox).where(confirmation);
    assert.equal(queued.state, "pending");
    const mailFor = () =>
      db.select().from(mailMessages)
        .where(eq(mailMessages.dedupeKey, `order_confirmation:${orderId}`));
    assert.equal((await mailFor()).length, 0, "nothing was mailed before the crash");

    // Two instances come back at once; both drain the outbox.
    shops.push(
      ...await Promise.all(
        [1, 2].map(() =>
          startShopProcess(primary.httpUrl, { OUTBOX_WORKER: "true", OUTBOX_POLL_MS: "50" })
        ),
      ),
    );
    await until("the confirmation row to be done", async () => {
      const [row] = await db.select().from(outbox).where(confirmation);
      return row.state === "done" ? row : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 500)); // time for a double delivery
    const mail = await mailFor();
    assert.equal(mail.length, 1, "delivered exactly once");
    assert.equal(mail[0].recipient, "guest@example.com");
    assert.match(mail[0].body, new RegExp(`/orders/${orderId}\\?token=`));
  } finally {
    await Promise.all(shops.map((shop) => kill(shop, "SIGTERM")));
    await seed.close();
    await primary.stop();
  }
});
