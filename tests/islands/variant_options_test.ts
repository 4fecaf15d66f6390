import assert from "node:assert/strict";
import {
  choiceParameters,
  choiceQuery,
  defaultVariant,
  type PickerVariant,
  productOptions,
  resolveVariant,
  variantWith,
} from "../../islands/variant_options.ts";

function variant(id: number, options: Record<string, string>, available = 5): PickerVariant {
  return { id, options, priceMinor: 1000 + id, currency: "USD", available };
}

const boots = [
  variant(1, { Color: "Navy", Size: "S" }, 0),
  variant(2, { Color: "Navy", Size: "M" }),
  variant(3, { Color: "Forest Green", Size: "M" }),
  variant(4, { Color: "Forest Green", Size: "L" }),
];

Deno.test("[variant options] one picker per option, values in catalogue order, URL tokens", () => {
  assert.deepEqual(productOptions(boots), [
    {
      name: "Color",
      key: "color",
      values: [{ label: "Navy", value: "navy" }, { label: "Forest Green", value: "forest-green" }],
    },
    {
      name: "Size",
      key: "size",
      values: [{ label: "S", value: "s" }, { label: "M", value: "m" }, { label: "L", value: "l" }],
    },
  ]);
  assert.equal(choiceQuery(boots[2], productOptions(boots)), "color=forest-green&size=m");
});

Deno.test("[variant options] the default is the first variant in stock", () => {
  assert.equal(defaultVariant(boots)?.id, 2);
  assert.equal(defaultVariant([variant(9, { Color: "Red" }, 0)])?.id, 9);
  assert.equal(defaultVariant([]), undefined);
});

Deno.test("[variant options] a URL's choice resolves to the best matching variant", async (t) => {
  await t.step("an exact choice", () => {
    assert.equal(resolveVariant(boots, { color: "forest-green", size: "l" })?.id, 4);
  });
  await t.step("a sold-out exact choice is still that variant", () => {
    assert.equal(resolveVariant(boots, { color: "navy", size: "s" })?.id, 1);
  });
  await t.step("a partial choice prefers a variant in stock", () => {
    assert.equal(resolveVariant(boots, { size: "m" })?.id, 2);
    assert.equal(resolveVariant(boots, { color: "navy" })?.id, 2);
  });
  await t.step("unknown names and values fall back to the default", () => {
    assert.equal(resolveVariant(boots, { color: "plaid" })?.id, 2);
    assert.equal(resolveVariant(boots, { utm_source: "mail" })?.id, 2);
  });
});

Deno.test("[variant options] choosing a value keeps as many other choices as it can", () => {
  const current = boots[2]; // Forest Green / M
  assert.equal(variantWith(boots, current, "Color", "Navy")?.id, 2, "keeps size M");
  assert.equal(variantWith(boots, current, "Size", "L")?.id, 4, "keeps the colour");
  assert.equal(variantWith(boots, current, "Size", "S")?.id, 1, "S exists only in Navy");
  assert.equal(variantWith(boots, current, "Size", "XL"), undefined);
});

Deno.test("[variant options] only well-formed, bounded parameters can name a choice", () => {
  assert.equal(choiceParameters({}), undefined);
  assert.deepEqual(choiceParameters({ color: "navy", size: "m" }), { color: "navy", size: "m" });
  assert.deepEqual(choiceParameters({ color: "Navy", "<x>": "m", size: "" }), undefined);
  const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`o${i}`, "v"]));
  assert.equal(Object.keys(choiceParameters(many)!).length, 6);
});
