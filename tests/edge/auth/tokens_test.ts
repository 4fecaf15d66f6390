import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import {
  type AccessTokens,
  createAccessTokens,
  generateSigningKey,
  InvalidTokenError,
  loadSigningKeys,
} from "../../../edge/auth/tokens.ts";

const OPTIONS = { issuer: "test-shop", audience: "test-aud", ttlSeconds: 900 };

async function setup() {
  const [current, previous] = [await generateSigningKey(), await generateSigningKey()];
  const tokens = await createAccessTokens([current, previous], OPTIONS);
  return { current, previous, tokens };
}

function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: "u1",
    role: "customer",
    jti: crypto.randomUUID(),
    iss: OPTIONS.issuer,
    aud: OPTIONS.audience,
    iat: now,
    nbf: now,
    exp: now + 900,
    ...overrides,
  };
}

async function sign(jwk: JsonWebKey & { kid?: string }, payload: Record<string, unknown>) {
  const { importJWK } = await import("jose");
  const key = await importJWK(jwk, "EdDSA");
  return await new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", kid: jwk.kid }).sign(key);
}

async function rejects(tokens: AccessTokens, token: string) {
  await assert.rejects(() => tokens.verify(token), InvalidTokenError);
}

Deno.test("[tokens] issues tokens that verify, with kid, jti, role and sub", async () => {
  const { tokens, current } = await setup();
  const { token, claims: issued } = await tokens.issue({ id: "u1", role: "admin" });
  const header = JSON.parse(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
  assert.equal(header.kid, current.kid);
  assert.equal(header.alg, "EdDSA");
  const verified = await tokens.verify(token);
  assert.deepEqual(verified, issued);
  assert.equal(verified.role, "admin");
  assert.ok(verified.exp - Date.now() / 1000 <= 900);
});

Deno.test("[tokens] rejects forged, stale and foreign tokens", async (t) => {
  const { tokens, current } = await setup();
  await t.step("alg none", async () => {
    const unsecured = new UnsecuredJWT(claims()).encode();
    await rejects(tokens, unsecured);
  });
  await t.step("HS256 keyed with the public key bytes", async () => {
    const publicJwk = tokens.jwks().keys[0];
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const forged = await new SignJWT(claims()).setProtectedHeader({
      alg: "HS256",
      kid: current.kid,
    })
      .sign(secret);
    await rejects(tokens, forged);
    const forgedX = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256", kid: current.kid })
      .sign(new TextEncoder().encode(publicJwk.x!));
    await rejects(tokens, forgedX);
  });
  await t.step("expired", async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejects(tokens, await sign(current, claims({ exp: now - 60, nbf: now - 960 })));
  });
  await t.step("not yet valid", async () => {
    await rejects(tokens, await sign(current, claims({ nbf: Math.floor(Date.now() / 1000) + 60 })));
  });
  await t.step("wrong audience", async () => {
    await rejects(tokens, await sign(current, claims({ aud: "someone-else" })));
  });
  await t.step("wrong issuer", async () => {
    await rejects(tokens, await sign(current, claims({ iss: "evil" })));
  });
  await t.step("tampered payload", async () => {
    const { token } = await tokens.issue({ id: "u1", role: "customer" });
    const [h, , s] = token.split(".");
    const payload = btoa(JSON.stringify(claims({ role: "admin" })))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    await rejects(tokens, `${h}.${payload}.${s}`);
  });
  await t.step("unknown kid", async () => {
    const stranger = await generateSigningKey();
    await rejects(tokens, await sign(stranger, claims()));
  });
  await t.step("no kid", async () => {
    const { kid: _kid, ...noKid } = current;
    await rejects(tokens, await sign(noKid, claims()));
  });
  await t.step("missing role", async () => {
    const { role: _role, ...rest } = claims();
    await rejects(tokens, await sign(current, rest));
  });
});

Deno.test("[tokens] accepts a token signed by the previous key during rotation", async () => {
  const previous = await generateSigningKey();
  const before = await createAccessTokens([previous], OPTIONS);
  const { token } = await before.issue({ id: "u1", role: "customer" });
  const after = await createAccessTokens([await generateSigningKey(), previous], OPTIONS);
  assert.equal((await after.verify(token)).id, "u1");
  assert.equal(after.jwks().keys.length, 2);
  assert.ok(after.jwks().keys.every((k) => k.d === undefined));
  // Once the old key is dropped from configuration its tokens stop verifying.
  const later = await createAccessTokens([await generateSigningKey()], OPTIONS);
  await assert.rejects(() => later.verify(token), InvalidTokenError);
});

Deno.test("[tokens] accepts ES256 keys too", async () => {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...await exportJWK(privateKey), kid: "ec-1" };
  const tokens = await createAccessTokens([jwk], OPTIONS);
  const { token } = await tokens.issue({ id: "u2", role: "customer" });
  assert.equal((await tokens.verify(token)).id, "u2");
});

Deno.test("[tokens] keeps a generated key in the data dir with mode 0600 and reuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadSigningKeys({ dataDir: dir });
    const second = await loadSigningKeys({ dataDir: dir });
    assert.deepEqual(second, first);
    const info = await Deno.stat(`${dir}/auth-keys.json`);
    assert.equal(info.mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
