/**
 * The category menu's data through the edge cache: the entry `/api/categories` serves, so
 * pages outside the catalog (account forms, not-found pages) show the same menu without a query.
 */
import { listCategories, MAX_PAGE_SIZE } from "../../db/catalog.ts";
import type { CategorySummary } from "../../db/catalog.ts";
import type { Database } from "../../db/client.ts";
import type { CacheEntry, CacheLookup, EdgeCache } from "../../edge/cache/cache.ts";
import { type Department, toDepartments } from "../ui/navigation.ts";
import { cacheKeys, cacheTags } from "./cache_keys.ts";

/** The cached JSON list of every category (`{ items }`), loaded from the nearest reader. */
export function categoriesLookup(database: Database): CacheLookup {
  return {
    kind: "listing",
    key: cacheKeys.categoriesJson(),
    load: async ({ afterWrite }) => {
      const reader = database.readerFor({ recentWrite: afterWrite });
      const items = await listCategories(reader, { limit: MAX_PAGE_SIZE });
      return {
        body: JSON.stringify({ items }),
        contentType: "application/json",
        tags: [cacheTags.categories],
      };
    },
  };
}

/** Grouped once per cached entry: entries are immutable and L0 hands out the same object. */
const grouped = new WeakMap<CacheEntry, Department[]>();

/** The departments and their categories for the header menu, from the cache. */
export async function readDepartments(
  deps: { database: Database; cache: EdgeCache },
): Promise<Department[]> {
  const { entry } = await deps.cache.get(categoriesLookup(deps.database));
  let departments = grouped.get(entry);
  if (!departments) {
    const { items } = JSON.parse(entry.body) as { items: CategorySummary[] };
    departments = toDepartments(items);
    grouped.set(entry, departments);
  }
  return departments;
}
