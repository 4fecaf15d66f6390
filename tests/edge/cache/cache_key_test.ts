import assert from "node:assert/strict";
import { boundedKey, MAX_READABLE_KEY_LENGTH } from "../../../edge/cache/cache_key.ts";

const longSearch = (word: string) =>
  `page:search?q=${encodeURIComponent(word.repeat(100))}&sort=featured`;

Deno.test("[cache key] keeps short keys as they are", () => {
  for (const key of ["page:home", "page:p:oak-desk", "x".repeat(MAX_READABLE_KEY_LENGTH)]) {
    assert.equal(boundedKey(key), key);
  }
});

Deno.test("[cache key] turns long keys into bounded digests, one per key", () => {
  const keys = [longSearch("é"), longSearch("è"), longSearch("é") + "&limit=24"];
  const bounded = keys.map(boundedKey);
  for (const key of bounded) {
    assert.ok(key.length <= 120, `${key.length} characters`);
    assert.match(key, /^sha256:[A-Za-z0-9_-]{43}:page:search\?q=/);
  }
  assert.equal(new Set(bounded).size, keys.length);
  assert.equal(boundedKey(keys[0]), bounded[0], "the same key maps to the same digest");
});

Deno.test("[cache key] a short key cannot pose as another key's digest", () => {
  const digest = boundedKey(longSearch("é"));
  assert.ok(digest.length <= MAX_READABLE_KEY_LENGTH);
  assert.notEqual(boundedKey(digest), digest);
});

Deno.test("[cache key] keys with lone surrogates get well-formed, distinct digests", () => {
  const a = boundedKey("page:p:\uD800");
  const b = boundedKey("page:p:\uD801");
  assert.ok(a.isWellFormed() && b.isWellFormed());
  assert.notEqual(a, b);
  assert.notEqual(boundedKey('page:p:"\\ud800"'), a);
});
