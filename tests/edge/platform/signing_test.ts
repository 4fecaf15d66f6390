import assert from "node:assert/strict";
import { createSigner, loadShopSecret } from "../../../edge/platform/signing.ts";

Deno.test("[signing] verifies its own signatures and nothing else", async () => {
  const signer = await createSigner("a-secret-of-some-length");
  const token = await signer.sign("order:1");
  assert.match(token, /^[\w-]{43}$/);
  assert.equal(await signer.verify("order:1", token), true);
  assert.equal(await signer.verify("order:2", token), false);
  assert.equal(await signer.verify("order:1", token.slice(0, -1) + "A"), false);
  assert.equal(await signer.verify("order:1", "not base64url!"), false);
  assert.equal(await signer.verify("order:1", ""), false);
  const other = await createSigner("another-secret-entirely");
  assert.equal(await other.verify("order:1", token), false);
  const hex = await createSigner("a-secret-of-some-length", { encoding: "hex" });
  assert.match(await hex.sign("x"), /^[0-9a-f]{64}$/);
  assert.equal(await hex.verify("x", await hex.sign("x")), true);
});

Deno.test("[signing] without SHOP_SECRET one secret is generated and kept in the data dir", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const first = await loadShopSecret({ dataDir });
    assert.ok(first.length >= 40);
    assert.equal(await loadShopSecret({ dataDir }), first);
    assert.equal((await Deno.stat(`${dataDir}/shop-secret`)).mode! & 0o777, 0o600);
    assert.equal(
      await loadShopSecret({ dataDir, configured: "configured-secret" }),
      "configured-secret",
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("[signing] remembered signatures stay bound to their message, and the memory is bounded", async () => {
  const signer = await createSigner("a-secret-of-some-length", { cacheSize: 2 });
  const tokens = await Promise.all(["m1", "m2", "m3"].map((m) => signer.sign(m)));
  assert.equal(await signer.verify("m1", tokens[0]), true, "forgotten, then verified again");
  assert.equal(await signer.verify("m3", tokens[2]), true);
  assert.equal(await signer.verify("m2", tokens[2]), false);
  assert.equal(await signer.sign("m3"), tokens[2]);
  const fresh = await createSigner("a-secret-of-some-length", { cacheSize: 0 });
  assert.equal(await fresh.verify("m2", tokens[1]), true, "the same key verifies without memory");
});
