/**
 * Deterministic demo catalog: the same seed always yields the same rows, byte for byte.
 */
import { count } from "drizzle-orm";
import type { Db } from "./client.ts";
import { categories, inventory, productImages, products, variants } from "./schema.ts";

export const DEFAULT_SEED = 20261121;

/** Fixed clock for seeded timestamps, so reruns match exactly. */
const SEED_EPOCH_MS = Date.UTC(2026, 0, 1);
const CURRENCY = "USD";
/** Generated product artwork (routes/catalog/images.ts draws it from the path). */
const ARTWORK_PATH = "/img/v1";
const VIEWS = ["front", "side", "detail", "in use", "close-up"];

export interface SeedOptions {
  seed?: number;
  productCount?: number;
  /** Called after each inserted batch with the rows done so far. */
  onProgress?: (progress: { table: string; done: number; total: number }) => void;
}

export interface GeneratedCatalog {
  categories: (typeof categories.$inferInsert)[];
  products: (typeof products.$inferInsert)[];
  variants: (typeof variants.$inferInsert)[];
  inventory: (typeof inventory.$inferInsert)[];
  images: (typeof productImages.$inferInsert)[];
}

const DEPARTMENTS: Record<string, string[]> = {
  "Outdoor": ["Tents", "Backpacks", "Sleeping Bags", "Camp Kitchen", "Headlamps", "Trekking Poles"],
  "Kitchen": ["Cookware", "Knives", "Coffee & Tea", "Bakeware", "Storage", "Utensils"],
  "Home": ["Bedding", "Lighting", "Rugs", "Cushions", "Wall Art", "Candles"],
  "Apparel": ["Jackets", "Shirts", "Trousers", "Knitwear", "Socks", "Hats"],
  "Footwear": ["Running Shoes", "Boots", "Sandals", "Sneakers", "Slippers"],
  "Office": ["Notebooks", "Pens", "Desk Lamps", "Organizers", "Chairs"],
  "Audio": ["Headphones", "Speakers", "Turntables", "Microphones", "Cables"],
  "Garden": ["Planters", "Tools", "Seeds", "Watering", "Outdoor Lighting"],
  "Fitness": ["Yoga", "Weights", "Bands", "Bottles", "Mats"],
  "Travel": ["Luggage", "Packing Cubes", "Travel Pillows", "Wallets", "Adapters"],
};

/** Product nouns where a category name does not singularize by dropping its final "s". */
const PRODUCT_NOUNS: Record<string, string> = {
  "Knives": "Knife",
  "Trousers": "Trousers",
  "Socks": "Socks",
  "Headphones": "Headphones",
  "Coffee & Tea": "Pour-Over Set",
  "Camp Kitchen": "Camp Stove",
  "Cookware": "Skillet",
  "Bakeware": "Baking Tray",
  "Storage": "Storage Jar",
  "Bedding": "Duvet Cover",
  "Lighting": "Pendant Lamp",
  "Wall Art": "Print",
  "Knitwear": "Sweater",
  "Watering": "Watering Can",
  "Outdoor Lighting": "Lantern",
  "Yoga": "Yoga Block",
  "Weights": "Kettlebell",
  "Bands": "Resistance Band",
  "Luggage": "Suitcase",
  "Seeds": "Seed Kit",
  "Tools": "Trowel",
  "Utensils": "Spatula",
};

const ADJECTIVES = [
  "Alpine",
  "Coastal",
  "Urban",
  "Classic",
  "Featherweight",
  "Rugged",
  "Modern",
  "Heritage",
  "Nordic",
  "Everyday",
  "Compact",
  "Summit",
  "Harbor",
  "Canyon",
  "Prairie",
  "Meridian",
  "Cedar",
  "Granite",
  "Willow",
  "Aurora",
  "Solstice",
  "Tidal",
  "Ember",
  "Juniper",
];
const MATERIALS = [
  "Linen",
  "Merino",
  "Canvas",
  "Oak",
  "Steel",
  "Ceramic",
  "Cotton",
  "Leather",
  "Bamboo",
  "Copper",
  "Wool",
  "Recycled",
  "Titanium",
  "Walnut",
  "Cork",
  "Hemp",
];
const BRANDS = [
  "Northwind",
  "Fjordline",
  "Atlas & Co",
  "Kestrel",
  "Lumen",
  "Tallgrass",
  "Bramble",
  "Quarry",
  "Halcyon",
  "Driftwood",
  "Ironbark",
  "Saltmarsh",
  "Wayfarer",
  "Pinecrest",
  "Ostara",
  "Copperleaf",
];
const COLORS = ["Black", "Navy", "Olive", "Sand", "Rust", "Slate", "Cream", "Forest"];
const SIZES = ["XS", "S", "M", "L", "XL"];
const PHRASES = [
  "Built to last for years of daily use",
  "Designed in small batches with care",
  "Tested in the field by people who use it every day",
  "Made from responsibly sourced materials",
  "Easy to clean and simple to repair",
  "Backed by a lifetime guarantee",
  "Light enough to take anywhere",
  "A quiet upgrade to the things you use most",
];

/** A small, fast, seedable PRNG (mulberry32): enough for demo data and artwork, not for secrets. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    between: (min: number, max: number) => min + next() * (max - min),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
  };
}

function slugify(text: string): string {
  return text.toLowerCase().replace(/&/g, "and").replace(/[^a-z0-9]+/g, "-").replace(
    /^-|-$/g,
    "",
  );
}

/** Generates the whole catalog in memory from `seed` (about 10 MB for 10,000 products). */
export function generateCatalog(
  options: { seed?: number; productCount?: number } = {},
): GeneratedCatalog {
  const random = createRandom(options.seed ?? DEFAULT_SEED);
  const productCount = options.productCount ?? 10_000;
  const catalog: GeneratedCatalog = {
    categories: [],
    products: [],
    variants: [],
    inventory: [],
    images: [],
  };

  let categoryId = 0;
  const categoryCount = Object.values(DEPARTMENTS).flat().length;
  for (const [index, [department, names]] of Object.entries(DEPARTMENTS).entries()) {
    // Departments come after the categories, so category ids stay 1..categoryCount.
    const departmentId = categoryCount + index + 1;
    for (const name of names) {
      categoryId++;
      catalog.categories.push({
        id: categoryId,
        slug: slugify(`${department} ${name}`),
        name,
        description: `${name} from our ${department.toLowerCase()} range.`,
        parentId: departmentId,
        position: categoryId,
      });
    }
  }
  for (const [index, [department, names]] of Object.entries(DEPARTMENTS).entries()) {
    catalog.categories.push({
      id: categoryCount + index + 1,
      slug: slugify(department),
      name: department,
      description: `${names.slice(0, -1).join(", ")} and ${names.at(-1)!.toLowerCase()}.`,
      parentId: null,
      position: categoryCount + index + 1,
    });
  }

  let variantId = 0;
  let imageId = 0;
  for (let id = 1; id <= productCount; id++) {
    const category = catalog.categories[(id - 1) % categoryCount];
    const noun = PRODUCT_NOUNS[category.name] ?? category.name.replace(/s$/, "");
    const name = `${random.pick(ADJECTIVES)} ${random.pick(MATERIALS)} ${noun}`;
    const brand = random.pick(BRANDS);
    const basePrice = random.int(5, 400) * 100 - random.pick([0, 1, 5, 51]);
    const createdAt = SEED_EPOCH_MS - random.int(0, 365 * 24 * 60) * 60_000;
    const variantCount = random.int(2, 5);
    const sized = random.next() < 0.5;
    let lowestPrice = Number.POSITIVE_INFINITY;
    let anyInStock = false;
    for (let v = 0; v < variantCount; v++) {
      variantId++;
      const color = COLORS[(id + v) % COLORS.length];
      const size = sized ? SIZES[v % SIZES.length] : undefined;
      const priceMinor = basePrice + (size ? SIZES.indexOf(size) * 200 : v * 100);
      const onHand = random.next() < 0.15 ? 0 : random.int(1, 120);
      lowestPrice = Math.min(lowestPrice, priceMinor);
      anyInStock ||= onHand > 0;
      catalog.variants.push({
        id: variantId,
        productId: id,
        sku: `SKU-${String(id).padStart(5, "0")}-${v + 1}`,
        name: size ? `${color} / ${size}` : color,
        options: size ? { Color: color, Size: size } : { Color: color },
        priceMinor,
        currency: CURRENCY,
        position: v,
      });
      catalog.inventory.push({ variantId, onHand, reserved: 0, updatedAt: createdAt });
    }
    const imageCount = random.int(3, 5);
    // Was the placeholder image's number; still drawn so every later value stays the same.
    random.int(0, 11);
    const artwork = `${ARTWORK_PATH}/${slugify(noun)}/${id}`;
    for (let i = 0; i < imageCount; i++) {
      imageId++;
      catalog.images.push({
        id: imageId,
        productId: id,
        url: `${artwork}-${i}.svg`,
        alt: `${name}, ${VIEWS[i]} view`,
        position: i,
      });
    }
    catalog.products.push({
      id,
      slug: `${slugify(name)}-${id}`,
      categoryId: category.id!,
      name,
      description: `${random.pick(PHRASES)}. ${
        random.pick(PHRASES)
      }. The ${name.toLowerCase()} by ${brand}.`,
      brand,
      priceMinor: lowestPrice,
      currency: CURRENCY,
      inStock: anyInStock,
      isActive: random.next() > 0.02,
      isFeatured: random.next() < 0.01,
      popularity: random.int(0, 100_000),
      imageUrl: `${artwork}-0.svg`,
      version: 1,
      createdAt,
      updatedAt: createdAt,
    });
  }
  return catalog;
}

/** True when the catalog has no products yet (start-up seeds only then). */
export async function isCatalogEmpty(db: Db): Promise<boolean> {
  const [row] = await db.select({ n: count() }).from(products);
  return row.n === 0;
}

/** Inserts a generated catalog in one transaction, in batches that keep SQL parameters bounded. */
export async function seedCatalog(
  writer: Db,
  options: SeedOptions = {},
): Promise<GeneratedCatalog> {
  const catalog = generateCatalog(options);
  const tables = [
    ["categories", categories, catalog.categories],
    ["products", products, catalog.products],
    ["variants", variants, catalog.variants],
    ["inventory", inventory, catalog.inventory],
    ["product_images", productImages, catalog.images],
  ] as const;
  await writer.transaction(async (tx) => {
    for (const [name, table, rows] of tables) {
      const batchSize = Math.floor(20_000 / Object.keys(rows[0] ?? { a: 1 }).length);
      for (let start = 0; start < rows.length; start += batchSize) {
        // deno-lint-ignore no-explicit-any -- one loop over five tables with differing row types
        await tx.insert(table).values(rows.slice(start, start + batchSize) as any);
        options.onProgress?.({
          table: name,
          done: Math.min(start + batchSize, rows.length),
          total: rows.length,
        });
      }
    }
  });
  return catalog;
}
