/** Server-rendered page components for the storefront. */
import type { ComponentChildren, VNode } from "preact";
import type { CategorySummary, ProductDetail, ProductSummary } from "../../db/catalog.ts";
import VariantPicker from "../../islands/VariantPicker.tsx";
import type { ListingQuery } from "../catalog/query.ts";
import { Island } from "./island.tsx";
import { formatMoney } from "../../islands/format.ts";

export function Layout(
  props: { title: string; description?: string; children: ComponentChildren },
): VNode {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Edge Shop`}</title>
        {props.description && <meta name="description" content={props.description} />}
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/app.css" />
      </head>
      <body>
        <header class="site-header">
          <a class="brand" href="/">Edge Shop</a>
          <form class="search" action="/search" method="get" role="search">
            <input
              type="search"
              name="q"
              placeholder="Search products"
              aria-label="Search products"
              maxLength={100}
            />
            <button type="submit">Search</button>
          </form>
        </header>
        <main>{props.children}</main>
        <footer class="site-footer">Served from the nearest edge.</footer>
      </body>
    </html>
  );
}

export function ProductCard({ product }: { product: ProductSummary }): VNode {
  return (
    <li class="card">
      <a href={`/p/${product.slug}`}>
        <img src={product.imageUrl} alt="" width={240} height={180} loading="lazy" />
        <span class="card-brand">{product.brand}</span>
        <span class="card-name">{product.name}</span>
        <span class="card-price">{formatMoney(product.priceMinor, product.currency)}</span>
        {!product.inStock && <span class="badge">Out of stock</span>}
      </a>
    </li>
  );
}

export function ProductGrid({ products }: { products: ProductSummary[] }): VNode {
  if (products.length === 0) return <p class="empty">No products match these filters.</p>;
  return <ul class="grid">{products.map((p) => <ProductCard key={p.id} product={p} />)}</ul>;
}

export function HomePage(
  props: { featured: ProductSummary[]; categories: CategorySummary[] },
): VNode {
  return (
    <Layout title="Home" description="Outdoor, kitchen, home and more, delivered fast.">
      <section class="hero">
        <h1>Good things, fast.</h1>
        <p>Browse {props.categories.length} categories of well-made goods.</p>
      </section>
      <h2>Featured</h2>
      <ProductGrid products={props.featured} />
      <h2>Categories</h2>
      <ul class="categories">
        {props.categories.map((category) => (
          <li key={category.id}>
            <a href={`/c/${category.slug}`}>{category.name}</a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}

export function ListingPage(
  props: {
    title: string;
    intro?: string;
    action: string;
    query: ListingQuery;
    products: ProductSummary[];
    nextCursor: string | null;
  },
): VNode {
  const { query } = props;
  const next = new URLSearchParams();
  for (const [key, value] of Object.entries(formValues(query))) if (value) next.set(key, value);
  if (props.nextCursor) next.set("cursor", props.nextCursor);
  return (
    <Layout title={props.title} description={props.intro}>
      <h1>{props.title}</h1>
      {props.intro && <p class="intro">{props.intro}</p>}
      <form class="filters" action={props.action} method="get">
        {query.q !== undefined && <input type="hidden" name="q" value={query.q} />}
        <label>
          Min $<input
            name="min_price"
            inputMode="decimal"
            size={6}
            value={formValues(query).min_price}
          />
        </label>
        <label>
          Max $<input
            name="max_price"
            inputMode="decimal"
            size={6}
            value={formValues(query).max_price}
          />
        </label>
        <label>
          <input type="checkbox" name="in_stock" value="true" checked={query.in_stock === true} />
          {" "}
          In stock only
        </label>
        <label>
          Sort{" "}
          <select name="sort">
            {[
              ["featured", "Featured"],
              ["price_asc", "Price: low to high"],
              ["price_desc", "Price: high to low"],
              ["newest", "Newest"],
              ["name", "Name"],
            ].map(([value, label]) => (
              <option key={value} value={value} selected={query.sort === value}>{label}</option>
            ))}
          </select>
        </label>
        <button type="submit">Apply</button>
      </form>
      <ProductGrid products={props.products} />
      {props.nextCursor && (
        <nav class="pager">
          <a rel="next" href={`${props.action}?${next}`}>Next page →</a>
        </nav>
      )}
    </Layout>
  );
}

function formValues(query: ListingQuery): Record<string, string | undefined> {
  return {
    q: query.q,
    min_price: query.min_price === undefined ? undefined : String(query.min_price / 100),
    max_price: query.max_price === undefined ? undefined : String(query.max_price / 100),
    in_stock: query.in_stock ? "true" : undefined,
    sort: query.sort === "featured" ? undefined : query.sort,
    limit: undefined,
  };
}

export function ProductPage({ product }: { product: ProductDetail }): VNode {
  const [image] = product.images;
  return (
    <Layout title={product.name} description={product.description}>
      <nav class="crumbs">
        <a href="/">Home</a> › <a href={`/c/${product.category.slug}`}>{product.category.name}</a>
      </nav>
      <article class="product">
        <div class="gallery">
          <img
            src={image?.url ?? product.imageUrl}
            alt={image?.alt ?? product.name}
            width={480}
            height={360}
          />
        </div>
        <div class="details">
          <p class="card-brand">{product.brand}</p>
          <h1>{product.name}</h1>
          <p>{product.description}</p>
          <form method="post" action="/cart/items">
            <Island name="VariantPicker">
              <VariantPicker
                variants={product.variants.map((v) => ({
                  id: v.id,
                  name: v.name,
                  priceMinor: v.priceMinor,
                  currency: v.currency,
                  available: v.available,
                }))}
              />
            </Island>
            <input type="hidden" name="quantity" value="1" />
          </form>
        </div>
      </article>
    </Layout>
  );
}

export function ErrorPage(
  props: { status: number; message: string; requestId?: string },
): VNode {
  return (
    <Layout title={props.status === 404 ? "Not found" : "Error"}>
      <section class="error">
        <h1>{props.status === 404 ? "Not found" : `Error ${props.status}`}</h1>
        <p>{props.message}</p>
        {props.requestId && <p class="muted">Reference: {props.requestId}</p>}
        <p>
          <a href="/">Back to the shop</a>
        </p>
      </section>
    </Layout>
  );
}
