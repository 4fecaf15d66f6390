import assert from "node:assert/strict";
import { generateCatalog } from "../../../db/seed.ts";
import { ARTWORK_KINDS, drawArtwork } from "../../../routes/catalog/artwork.ts";

Deno.test("[artwork] every kind of product the seed makes has a drawing of its own", () => {
  const kinds = new Set(
    generateCatalog({ productCount: 54 }).images.map((image) => image.url.split("/")[3]),
  );
  assert.equal(kinds.size, 54);
  assert.deepEqual([...kinds].filter((kind) => !ARTWORK_KINDS.includes(kind)), []);
});

Deno.test("[artwork] pictures differ between products of one kind and between views", () => {
  const pictures = new Set<string>();
  for (let id = 1; id <= 50; id++) {
    for (let view = 0; view < 5; view++) pictures.add(drawArtwork("tent", id, view));
  }
  assert.equal(pictures.size, 250);
  const picture = drawArtwork("boot", 7, 0);
  assert.equal(drawArtwork("boot", 7, 0), picture, "deterministic");
  assert.match(picture, /^<svg [^>]*viewBox="0 0 600 600" width="600" height="600">/);
  assert.ok(picture.length < 4096, `${picture.length} bytes`);
});
