import { type Context, Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import {
  type ProductChange,
  setVariantPrices,
  setVariantStock,
  updateProduct,
} from "../../db/admin_products.ts";
import type { Database } from "../../db/client.ts";
import type { EdgeCache } from "../../edge/cache/cache.ts";
import { tagsForProductChange } from "../catalog/cache_keys.ts";
import { SLUG } from "../catalog/query.ts";
import { parseJsonBody, parseWith } from "../validation.ts";

const productId = z.object({
  id: z.string().regex(/^[1-9]\d{0,9}$/, "must be a product id").transform(Number),
});

const productPatch = z.strictObject({
  slug: z.string().max(120).regex(SLUG, "must be a slug like oak-desk").optional(),
  name: z.string().trim().min(1).max(200).optional(),
  description: z.string().trim().max(5000).optional(),
  brand: z.string().trim().min(1).max(100).optional(),
  isActive: z.boolean().optional(),
  isFeatured: z.boolean().optional(),
}).refine((patch) => Object.keys(patch).length > 0, { message: "must change at least one field" });

const variantId = z.number().int().positive();
const uniqueVariants = <T extends { variantId: number }>(items: T[]) =>
  new Set(items.map((item) => item.variantId)).size === items.length;

const pricesBody = z.strictObject({
  variants: z.array(z.strictObject({
    variantId,
    priceMinor: z.number().int().min(0).max(100_000_000),
  })).min(1).max(100).refine(uniqueVariants, "must not repeat a variant"),
});

const stockBody = z.strictObject({
  variants: z.array(z.strictObject({
    variantId,
    onHand: z.number().int().min(0).max(1_000_000_000),
  })).min(1).max(100).refine(uniqueVariants, "must not repeat a variant"),
});

/** Admin writes to products; each invalidates exactly the cache tags of what it changed. */
export function adminProductsApi(
  deps: { database: Database; cache: EdgeCache; guard: MiddlewareHandler },
): Hono {
  const app = new Hono();
  app.use("*", deps.guard);

  async function changed(c: Context, change: ProductChange): Promise<Response> {
    const tags = tagsForProductChange(change);
    await deps.cache.invalidate(tags);
    c.header("Cache-Control", "no-store");
    return c.json({ id: change.productId, slug: change.slug, version: change.version, tags });
  }

  app.patch("/:id", async (c) => {
    const { id } = parseWith(productId, { id: c.req.param("id") });
    const patch = await parseJsonBody(c.req.raw, productPatch);
    return await changed(c, await updateProduct(deps.database.writer, id, patch));
  });

  app.put("/:id/price", async (c) => {
    const { id } = parseWith(productId, { id: c.req.param("id") });
    const { variants } = await parseJsonBody(c.req.raw, pricesBody);
    return await changed(c, await setVariantPrices(deps.database.writer, id, variants));
  });

  app.put("/:id/stock", async (c) => {
    const { id } = parseWith(productId, { id: c.req.param("id") });
    const { variants } = await parseJsonBody(c.req.raw, stockBody);
    return await changed(c, await setVariantStock(deps.database.writer, id, variants));
  });

  return app;
}
