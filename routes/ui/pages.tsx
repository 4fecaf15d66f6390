/** Shared page parts: product cards and grids, breadcrumbs, the error page. */
import type { VNode } from "preact";
import type { ProductSummary } from "../../db/catalog.ts";
import { formatMoney } from "../../islands/format.ts";
import { Layout } from "./layout.tsx";
import type { Department } from "./navigation.ts";

export { Layout } from "./layout.tsx";

/** Artwork is drawn square; cards and galleries reserve that box before it loads. */
export const IMAGE_SIZE = 600;

export function ProductCard(props: { product: ProductSummary; eager?: boolean }): VNode {
  const { product } = props;
  return (
    <li class="card">
      <a href={`/p/${product.slug}`}>
        <span class="card-media">
          <img
            src={product.imageUrl}
            alt=""
            width={IMAGE_SIZE}
            height={IMAGE_SIZE}
            loading={props.eager ? "eager" : "lazy"}
            decoding="async"
          />
          {!product.inStock && <span class="badge">Sold out</span>}
        </span>
        <span class="card-brand">{product.brand}</span>
        <span class="card-name">{product.name}</span>
        <span class="card-price">From {formatMoney(product.priceMinor, product.currency)}</span>
      </a>
    </li>
  );
}

/** Cards in a grid; the first `eager` images load at once (they are above the fold). */
export function ProductGrid(
  props: { products: readonly ProductSummary[]; eager?: number; label?: string },
): VNode {
  const eager = props.eager ?? 4;
  return (
    <ul class="grid" aria-label={props.label}>
      {props.products.map((product, index) => (
        <ProductCard key={product.id} product={product} eager={index < eager} />
      ))}
    </ul>
  );
}

export function Breadcrumbs(props: { trail: { href?: string; label: string }[] }): VNode {
  return (
    <nav class="crumbs" aria-label="Breadcrumb">
      <ol>
        {props.trail.map((step, index) => (
          <li key={index}>
            {step.href
              ? <a href={step.href}>{step.label}</a>
              : <span aria-current="page">{step.label}</span>}
          </li>
        ))}
      </ol>
    </nav>
  );
}

export function ErrorPage(
  props: { status: number; message: string; requestId?: string; departments?: Department[] },
): VNode {
  const notFound = props.status === 404;
  return (
    <Layout
      title={notFound ? "Not found" : "Something went wrong"}
      departments={props.departments}
    >
      <section class="error-page">
        <p class="eyebrow">{notFound ? "404 · Not found" : `Error ${props.status}`}</p>
        <h1>{notFound ? props.message : "Something went wrong"}</h1>
        {!notFound && <p>{props.message}</p>}
        {props.requestId && <p class="muted">Reference: {props.requestId}</p>}
        {notFound
          ? <p>It may have moved, or the link may be mistyped. Try a search, or:</p>
          : <p>Please try again in a moment. If it keeps happening, quote the reference.</p>}
        <p class="actions">
          <a class="button button-primary" href="/">Back to the shop</a>
          <a class="button button-secondary" href="/#departments">Browse departments</a>
        </p>
      </section>
    </Layout>
  );
}
