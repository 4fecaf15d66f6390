import assert from "node:assert/strict";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { Ratelimit } from "@upstash/ratelimit";
import { type RedisService, startRedis } from "./redis.ts";
import { startUpstashGateway, type UpstashGateway } from "./upstash_gateway.ts";

type ClientOptions = Omit<RedisConfigNodejs, "url" | "token">;

interface Fixture {
  redis: RedisService;
  gateway: UpstashGateway;
  /** An official client pointed at the gateway; options override the test defaults. */
  client(options?: ClientOptions): Redis;
  /** A raw POST to the gateway, to check the wire format byte for byte. */
  post(path: string, body: unknown, headers?: HeadersInit): Promise<Response>;
}

async function withGateway(
  fn: (fixture: Fixture) => Promise<void>,
  options: { commandTimeoutMs?: number } = {},
): Promise<void> {
  const redis = await startRedis();
  let gateway: UpstashGateway | undefined;
  try {
    gateway = await startUpstashGateway({ redisPort: redis.port, token: "test-token", ...options });
    const { url, token } = gateway;
    await fn({
      redis,
      gateway,
      client: (options) =>
        new Redis({ url, token, retry: false, enableTelemetry: false, ...options }),
      post: (path, body, headers) =>
        fetch(`${url}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, ...headers },
          body: JSON.stringify(body),
        }),
    });
  } finally {
    await gateway?.stop();
    await redis.stop();
  }
}

/** The ways the client talks to the gateway: batched into /pipeline (its default) or one POST / each. */
const CLIENT_MODES: Array<[string, ClientOptions]> = [
  ["auto-pipelined", {}],
  ["one request per command", { enableAutoPipelining: false }],
];

Deno.test("[upstash gateway] round-trips strings, unicode and binary-ish text", async (t) => {
  await withGateway(async ({ client }) => {
    for (const [mode, options] of CLIENT_MODES) {
      await t.step(mode, async () => {
        const redis = client(options);
        const samples = ["plain", "héllo wörld ✓ 🚀", "nul\u0000byte", "line\r\nbreak", " "];
        for (const [i, value] of samples.entries()) {
          assert.equal(await redis.set(`${mode}:s:${i}`, value), "OK");
          assert.equal(await redis.get(`${mode}:s:${i}`), value);
        }
      });
    }
  });
});

Deno.test("[upstash gateway] returns bytes that are not UTF-8 exactly, in base64", async (t) => {
  await withGateway(async ({ post }) => {
    const base64 = { "upstash-encoding": "base64" };
    // Lua writes the raw bytes: a JSON body cannot carry them in.
    const write = "redis.call('SET', KEYS[1], string.char(0, 255, 128, 10, 195)) return 1";
    await post("/", ["EVAL", write, "1", "bin"]).then((res) => res.body?.cancel());
    const exact = btoa(String.fromCharCode(0, 255, 128, 10, 195));
    await t.step("one command", async () => {
      const res = await post("/", ["GET", "bin"], base64);
      assert.deepEqual(await res.json(), { result: exact });
    });
    await t.step("pipeline, also nested in an array", async () => {
      const res = await post("/pipeline", [["GET", "bin"], ["MGET", "bin", "none"]], base64);
      assert.deepEqual(await res.json(), [{ result: exact }, { result: [exact, null] }]);
    });
    await t.step("transaction", async () => {
      const res = await post("/multi-exec", [["GET", "bin"], ["STRLEN", "bin"]], base64);
      assert.deepEqual(await res.json(), [{ result: exact }, { result: 5 }]);
    });
  });
});

Deno.test("[upstash gateway] serializes JSON values and integers as the client expects", async (t) => {
  await withGateway(async ({ client }) => {
    const redis = client();
    await t.step("objects round-trip through automatic serialization", async () => {
      const product = { id: 7, name: "Mug", tags: ["a", "b"], price: { cents: 1299 }, ok: true };
      await redis.set("json:product", product);
      assert.deepEqual(await redis.get("json:product"), product);
    });
    await t.step("incr returns numbers", async () => {
      assert.equal(await redis.incr("counter"), 1);
      assert.equal(await redis.incrby("counter", 41), 42);
      assert.equal(await redis.get("counter"), 42);
    });
    await t.step("a missing key reads as null", async () => {
      assert.equal(await redis.get("missing"), null);
      assert.deepEqual(await redis.mget("missing", "counter"), [null, 42]);
    });
  });
});

Deno.test("[upstash gateway] supports hash commands", async () => {
  await withGateway(async ({ client }) => {
    const redis = client();
    assert.equal(await redis.hset("cart:1", { sku: "mug", qty: 2, note: "gift ✓" }), 3);
    assert.equal(await redis.hget("cart:1", "sku"), "mug");
    assert.equal(await redis.hincrby("cart:1", "qty", 3), 5);
    assert.deepEqual(await redis.hgetall("cart:1"), { sku: "mug", qty: 5, note: "gift ✓" });
    assert.equal(await redis.hget("cart:1", "absent"), null);
    assert.equal(await redis.hgetall("cart:absent"), null);
  });
});

Deno.test("[upstash gateway] honours SET options and key TTLs", async (t) => {
  await withGateway(async ({ client }) => {
    const redis = client();
    await t.step("EX with NX sets once", async () => {
      assert.equal(await redis.set("session", "a", { ex: 100, nx: true }), "OK");
      assert.equal(await redis.set("session", "b", { ex: 100, nx: true }), null);
      assert.equal(await redis.get("session"), "a");
      const ttl = await redis.ttl("session");
      assert.ok(ttl > 95 && ttl <= 100, `ttl was ${ttl}`);
    });
    await t.step("PX expires the key", async () => {
      await redis.set("flash", "x", { px: 50 });
      assert.ok((await redis.pttl("flash")) > 0);
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.equal(await redis.get("flash"), null);
      assert.equal(await redis.ttl("flash"), -2);
    });
    await t.step("expire and persist", async () => {
      await redis.set("kept", "v");
      assert.equal(await redis.ttl("kept"), -1);
      assert.equal(await redis.expire("kept", 30), 1);
      assert.ok((await redis.ttl("kept")) > 0);
      assert.equal(await redis.persist("kept"), 1);
      assert.equal(await redis.ttl("kept"), -1);
    });
  });
});

Deno.test("[upstash gateway] pipeline returns one result per command", async (t) => {
  await withGateway(async ({ client }) => {
    const redis = client();
    await t.step("results in order", async () => {
      const results = await redis.pipeline()
        .set("p:a", "1")
        .incr("p:n")
        .get("p:a")
        .hset("p:h", { f: "v" })
        .get("p:missing")
        .exec();
      assert.deepEqual(results, ["OK", 1, 1, 1, null]);
    });
    await t.step("an error in one command leaves the others", async () => {
      const results = await redis.pipeline().set("p:s", "text").incr("p:s").get("p:s")
        .exec({ keepErrors: true });
      assert.equal(results[0].result, "OK");
      assert.match(String(results[1].error), /ERR value is not an integer/);
      assert.equal(results[2].result, "text");
      await assert.rejects(redis.pipeline().incr("p:s").exec(), /Command 1 \[ incr \] failed/);
    });
  });
});

Deno.test("[upstash gateway] multi runs as one transaction", async (t) => {
  await withGateway(async ({ client, post }) => {
    const redis = client();
    await t.step("results in order", async () => {
      const results = await redis.multi().set("m:a", "x").incr("m:n").get("m:a").exec();
      assert.deepEqual(results, ["OK", 1, "x"]);
    });
    await t.step("a runtime error is reported per command and the rest still runs", async () => {
      const results = await redis.multi().set("m:s", "text").incr("m:s").set("m:after", "ran")
        .exec({ keepErrors: true });
      assert.equal(results[0].result, "OK");
      assert.match(String(results[1].error), /ERR value is not an integer/);
      assert.equal(await redis.get("m:after"), "ran");
    });
    await t.step("a command Redis cannot queue discards the whole transaction", async () => {
      const res = await post("/multi-exec", [["SET", "m:never", "1"], ["NOPE"]]);
      assert.equal(res.status, 400);
      assert.match((await res.json()).error, /unknown command/);
      assert.equal(await redis.get("m:never"), null);
    });
    await t.step("commands from concurrent requests never interleave", async () => {
      await Promise.all(
        Array.from({ length: 20 }, () => redis.multi().incr("m:c").incr("m:c").exec()),
      ).then((all) => {
        for (const [first, second] of all) assert.equal(second, first + 1);
      });
    });
  });
});

Deno.test("[upstash gateway] runs Lua with eval, scriptLoad and evalsha", async (t) => {
  await withGateway(async ({ client }) => {
    const redis = client();
    const script = "return {KEYS[1], ARGV[1], 42, {'nested', 7, ARGV[2]}}";
    const expected = ["k", "héllo", 42, ["nested", 7, "ok"]];
    await t.step("eval returns nested arrays", async () => {
      assert.deepEqual(await redis.eval(script, ["k"], ["héllo", "ok"]), expected);
    });
    await t.step("scriptLoad then evalsha", async () => {
      const sha = await redis.scriptLoad(script);
      assert.match(sha, /^[0-9a-f]{40}$/);
      assert.deepEqual(await redis.evalsha(sha, ["k"], ["héllo", "ok"]), expected);
    });
    await t.step("evalsha of an unknown script fails with NOSCRIPT", async () => {
      await assert.rejects(redis.evalsha("0".repeat(40), [], []), /NOSCRIPT/);
    });
    await t.step("redis.call results and nil", async () => {
      await redis.set("lua:v", "stored");
      assert.equal(await redis.eval("return redis.call('GET', KEYS[1])", ["lua:v"], []), "stored");
      assert.equal(await redis.eval("return redis.call('GET', KEYS[1])", ["lua:none"], []), null);
    });
  });
});

Deno.test("[upstash gateway] accepts Upstash-only Lua shebang flags under the client's SHA-1", async (t) => {
  await withGateway(async ({ client }) => {
    const redis = client();
    const script = "#!lua flags=allow-key-locking\nreturn {ARGV[1], 5}";
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(script));
    const clientSha = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    await t.step("eval", async () => {
      assert.deepEqual(await redis.eval(script, [], ["x"]), ["x", 5]);
    });
    await t.step("evalsha with the client's hash after eval", async () => {
      assert.deepEqual(await redis.evalsha(clientSha, [], ["y"]), ["y", 5]);
    });
    await t.step("scriptLoad and scriptExists", async () => {
      assert.equal(await redis.scriptLoad(script), clientSha);
      assert.deepEqual(await redis.scriptExists(clientSha), [1]);
    });
  });
});

Deno.test("[upstash gateway] surfaces a command error as the client's error", async (t) => {
  await withGateway(async ({ client, post }) => {
    for (const [mode, options] of CLIENT_MODES) {
      await t.step(mode, async () => {
        const redis = client(options);
        await redis.set(`${mode}:str`, "not a number");
        await assert.rejects(redis.incr(`${mode}:str`), (error: Error) => {
          assert.equal(error.name, "UpstashError");
          assert.match(error.message, /ERR value is not an integer or out of range/);
          return true;
        });
      });
    }
    await t.step("a single command answers 400 with an error body", async () => {
      const res = await post("/", ["INCR", "one request per command:str"]);
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { error: "ERR value is not an integer or out of range" });
    });
  });
});

Deno.test("[upstash gateway] rejects a wrong or missing token on every route", async (t) => {
  await withGateway(async ({ gateway, post }) => {
    await t.step("the client sees the rejection", async () => {
      const wrong = new Redis({ url: gateway.url, token: "wrong-token", retry: false });
      await assert.rejects(wrong.get("x"), /Unauthorized/);
    });
    for (const path of ["/", "/pipeline", "/multi-exec", "/get/x"]) {
      await t.step(path, async () => {
        const body = path === "/" ? ["GET", "x"] : [["GET", "x"]];
        const wrong = await post(path, body, { authorization: "Bearer nope" });
        assert.equal(wrong.status, 401);
        assert.deepEqual(await wrong.json(), { error: "Unauthorized" });
        const missing = await fetch(`${gateway.url}${path}`, {
          method: "POST",
          body: JSON.stringify(body),
        });
        assert.equal(missing.status, 401);
        await missing.body?.cancel();
      });
    }
  });
});

Deno.test("[upstash gateway] encodes results like Upstash with and without Upstash-Encoding", async (t) => {
  await withGateway(async ({ client, post }) => {
    const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
    const base64 = { "upstash-encoding": "base64" };
    await post("/", ["RPUSH", "enc:list", "a", "ü"]).then((res) => res.body?.cancel());
    await t.step("base64: strings encoded, OK, integers and nulls left alone", async () => {
      const res = await post("/pipeline", [
        ["SET", "enc:k", "héllo"],
        ["GET", "enc:k"],
        ["INCR", "enc:n"],
        ["GET", "enc:none"],
        ["LRANGE", "enc:list", "0", "-1"],
        ["PING"],
        ["EVAL", "return {1, 'x', {'y'}}", "0"],
      ], base64);
      assert.deepEqual(await res.json(), [
        { result: "OK" },
        { result: b64("héllo") },
        { result: 1 },
        { result: null },
        { result: [b64("a"), b64("ü")] },
        { result: b64("PONG") },
        { result: [1, b64("x"), [b64("y")]] },
      ]);
    });
    await t.step("plain: strings as text", async () => {
      const res = await post("/", ["LRANGE", "enc:list", "0", "-1"]);
      assert.deepEqual(await res.json(), { result: ["a", "ü"] });
    });
    for (
      const [name, options] of [
        ["client default (base64)", {}],
        ["responseEncoding: false", { responseEncoding: false }],
        ["automaticDeserialization: false", { automaticDeserialization: false }],
        ["both off", { responseEncoding: false, automaticDeserialization: false }],
      ] satisfies Array<[string, ClientOptions]>
    ) {
      await t.step(`client with ${name}`, async () => {
        const redis = client(options);
        await redis.set("enc:text", "grüße 🚀");
        assert.equal(await redis.get("enc:text"), "grüße 🚀");
        assert.deepEqual(await redis.lrange("enc:list", 0, -1), ["a", "ü"]);
        assert.equal(await redis.ping(), "PONG");
        await redis.set("enc:obj", { a: 1 });
        const raw = await redis.get("enc:obj");
        if (options.automaticDeserialization === false) assert.equal(raw, '{"a":1}');
        else assert.deepEqual(raw, { a: 1 });
      });
    }
  });
});

Deno.test("[upstash gateway] @upstash/ratelimit sliding window limits per identifier", async () => {
  await withGateway(async ({ client }) => {
    const ratelimit = new Ratelimit({
      redis: client(),
      limiter: Ratelimit.slidingWindow(3, "10 s"),
      prefix: "test:ratelimit",
      analytics: false,
      ephemeralCache: false,
    });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const { success, remaining, limit, pending } = await ratelimit.limit("shopper-1");
      await pending;
      assert.equal(limit, 3);
      if (success) assert.equal(remaining, 2 - i);
      outcomes.push(success);
    }
    assert.deepEqual(outcomes, [true, true, true, false]);
    const other = await ratelimit.limit("shopper-2");
    await other.pending;
    assert.equal(other.success, true);
  });
});

Deno.test("[upstash gateway] fails fast with a 5xx when Redis dies", async (t) => {
  await withGateway(async ({ client, redis, post }) => {
    const redisClient = client();
    assert.equal(await redisClient.set("before", "1"), "OK");
    await redis.kill();
    for (const [mode, options] of CLIENT_MODES) {
      await t.step(`client call rejects within 2 s (${mode})`, async () => {
        const started = performance.now();
        await assert.rejects(client(options).get("before"), /Redis is unavailable/);
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 2000, `took ${Math.round(elapsed)} ms`);
      });
    }
    await t.step("raw request answers 503 with a JSON error", async () => {
      const res = await post("/", ["GET", "before"]);
      assert.equal(res.status, 503);
      assert.match((await res.json()).error, /Redis is unavailable/);
    });
  });
});

Deno.test("[upstash gateway] answers 503 within the command timeout while Redis hangs, then recovers", async (t) => {
  await withGateway(async ({ client, redis, post }) => {
    const redisClient = client();
    assert.equal(await redisClient.set("hang", "before"), "OK");
    redis.pause();
    try {
      await t.step("a request meets the 300 ms timeout", async () => {
        const started = performance.now();
        const res = await post("/", ["GET", "hang"]);
        const elapsed = performance.now() - started;
        assert.equal(res.status, 503);
        assert.match((await res.json()).error, /Redis did not answer within 300 ms/);
        // Generous: the bound proves a timeout fired, not how punctual timers are on a busy box.
        assert.ok(elapsed < 2000, `took ${Math.round(elapsed)} ms`);
      });
    } finally {
      redis.resume();
    }
    await t.step("answers again once Redis does", async () => {
      assert.equal(await redisClient.get("hang"), "before");
    });
  }, { commandTimeoutMs: 300 });
});
