import type { VNode } from "preact";
import type { Page, ProductSummary } from "../../db/catalog.ts";
import { Breadcrumbs, Layout, ProductGrid } from "../ui/pages.tsx";
import type { Department } from "../ui/navigation.ts";
import { DEFAULT_PAGE_SIZE, type InvalidFilter, type ListingQuery } from "./query.ts";

const SORT_LABELS = [
  ["relevance", "Relevance"],
  ["featured", "Featured"],
  ["price_asc", "Price: low to high"],
  ["price_desc", "Price: high to low"],
  ["newest", "Newest"],
  ["name", "Name: A to Z"],
] as const;

/** How shoppers read the parameters an inline message names. */
const FIELD_LABELS: Record<string, string> = {
  min_price: "Min price",
  max_price: "Max price",
  in_stock: "In stock",
  sort: "Sort",
  q: "Search",
  limit: "Page size",
  cursor: "Page link",
  before: "Page link",
};

export interface ListingPageProps {
  title: string;
  intro?: string;
  /** The listing's path: the filter form's action and the pager's base. */
  action: string;
  trail: { href?: string; label: string }[];
  query: ListingQuery;
  invalid?: InvalidFilter;
  page: Page<ProductSummary>;
  count: { total: number; offset: number };
  departments: Department[];
  /** A department's categories, shown as chips above its listing. */
  subcategories?: { slug: string; name: string }[];
  /** Search pages: the query shown in the header's box and the empty state. */
  search?: boolean;
}

/** The query string of the listing with `changes` applied (undefined removes a parameter). */
export function listingHref(
  action: string,
  query: ListingQuery,
  changes: Record<string, string | undefined> = {},
): string {
  const params = new URLSearchParams();
  const defaultSort = query.q ? "relevance" : "featured";
  const values: Record<string, string | undefined> = {
    q: query.q,
    min_price: query.min_price === undefined ? undefined : amountText(query.min_price),
    max_price: query.max_price === undefined ? undefined : amountText(query.max_price),
    in_stock: query.in_stock ? "true" : undefined,
    sort: query.sort === defaultSort ? undefined : query.sort,
    limit: query.limit === DEFAULT_PAGE_SIZE ? undefined : String(query.limit),
    ...changes,
  };
  for (const [name, value] of Object.entries(values)) if (value) params.set(name, value);
  const search = params.toString();
  return search ? `${action}?${search}` : action;
}

function amountText(minor: number): string {
  return minor % 100 === 0 ? String(minor / 100) : (minor / 100).toFixed(2);
}

/** "min_price must be an amount like 12.50" → "Min price must be an amount like 12.50". */
function readableMessage(invalid: InvalidFilter): string {
  const label = FIELD_LABELS[invalid.field] ?? invalid.field;
  const rest = invalid.message.startsWith(invalid.field)
    ? invalid.message.slice(invalid.field.length)
    : ` ${invalid.message}`;
  return `${label}${rest.replace(/min_price/g, "the min price")}. We showed results without it.`;
}

export function ListingPage(props: ListingPageProps): VNode {
  const { query, page, count } = props;
  return (
    <Layout
      title={props.title}
      description={props.intro}
      departments={props.departments}
      searchQuery={props.search ? query.q : undefined}
    >
      <Breadcrumbs trail={props.trail} />
      <header class="listing-header">
        <h1>{props.title}</h1>
        {props.intro && <p class="lede">{props.intro}</p>}
        {props.subcategories && props.subcategories.length > 0 && (
          <ul class="chips" aria-label="Categories">
            {props.subcategories.map((category) => (
              <li key={category.slug}>
                <a class="chip" href={`/c/${category.slug}`}>{category.name}</a>
              </li>
            ))}
          </ul>
        )}
      </header>
      {(!props.search || query.q) && <FilterForm {...props} />}
      {count.total > 0 && (
        <p class="result-count" data-testid="result-count">
          {count.total} {count.total === 1 ? "product" : "products"}
          {count.total > page.items.length &&
            ` · showing ${count.offset + 1}–${count.offset + page.items.length}`}
        </p>
      )}
      {page.items.length > 0
        ? <ProductGrid products={page.items} label={props.title} />
        : <EmptyState {...props} />}
      <Pager {...props} />
    </Layout>
  );
}

function FilterForm(props: ListingPageProps): VNode {
  const { query, invalid } = props;
  const sorts = SORT_LABELS.filter(([value]) => value !== "relevance" || query.q);
  const fieldError = (field: string) =>
    invalid?.field === field
      ? (
        <p class="field-error" id={`${field}-error`}>
          {readableMessage(invalid)}
        </p>
      )
      : null;
  const invalidProps = (field: string) =>
    invalid?.field === field
      ? { "aria-invalid": "true" as const, "aria-describedby": `${field}-error` }
      : {};
  const otherProblem = invalid && !["min_price", "max_price", "sort", "in_stock"].includes(
    invalid.field,
  );
  return (
    <form class="filters" action={props.action} method="get" data-testid="filters">
      {otherProblem && (
        <p class="form-alert" role="alert">
          {readableMessage(invalid!)}
        </p>
      )}
      {invalid && !otherProblem && (
        <p class="visually-hidden" role="alert">
          {readableMessage(invalid)}
        </p>
      )}
      {query.q !== undefined && <input type="hidden" name="q" value={query.q} />}
      {query.limit !== DEFAULT_PAGE_SIZE && (
        <input type="hidden" name="limit" value={String(query.limit)} />
      )}
      <div class="field price-field">
        <label for="min_price">Min price ($)</label>
        <input
          id="min_price"
          name="min_price"
          inputMode="decimal"
          autocomplete="off"
          placeholder="0"
          value={query.min_price === undefined ? "" : amountText(query.min_price)}
          {...invalidProps("min_price")}
        />
        {fieldError("min_price")}
      </div>
      <div class="field price-field">
        <label for="max_price">Max price ($)</label>
        <input
          id="max_price"
          name="max_price"
          inputMode="decimal"
          autocomplete="off"
          placeholder="Any"
          value={query.max_price === undefined ? "" : amountText(query.max_price)}
          {...invalidProps("max_price")}
        />
        {fieldError("max_price")}
      </div>
      <div class="field sort-field">
        <label for="sort">Sort by</label>
        <select id="sort" name="sort" {...invalidProps("sort")}>
          {sorts.map(([value, label]) => (
            <option key={value} value={value} selected={query.sort === value}>{label}</option>
          ))}
        </select>
        {fieldError("sort")}
      </div>
      <div class="field checkbox-field">
        <input
          type="checkbox"
          id="in_stock"
          name="in_stock"
          value="true"
          checked={query.in_stock === true}
          {...invalidProps("in_stock")}
        />
        <label for="in_stock">In stock only</label>
        {fieldError("in_stock")}
      </div>
      <div class="field filter-actions">
        <button type="submit" class="button button-primary">Apply</button>
        <a
          class="button button-tertiary"
          href={listingHref(props.action, query, {
            min_price: undefined,
            max_price: undefined,
            in_stock: undefined,
            sort: undefined,
          })}
        >
          Clear
        </a>
      </div>
    </form>
  );
}

function EmptyState(props: ListingPageProps): VNode {
  const { query } = props;
  if (props.search && !query.q) {
    return (
      <section class="empty-state">
        <h2>What are you looking for?</h2>
        <p>Search by product, brand or category: "tents", "Northwind", "coffee".</p>
        <DepartmentLinks departments={props.departments} />
      </section>
    );
  }
  const filtered = query.min_price !== undefined || query.max_price !== undefined ||
    query.in_stock === true;
  return (
    <section class="empty-state" data-testid="empty-state">
      <h2>{props.search ? `No results for “${query.q}”` : "No products match these filters"}</h2>
      <ul>
        {filtered && (
          <li>
            <a
              href={listingHref(props.action, query, {
                min_price: undefined,
                max_price: undefined,
                in_stock: undefined,
              })}
            >
              Clear the price and stock filters
            </a>
          </li>
        )}
        {props.search && <li>Check the spelling, or try fewer or more general words.</li>}
        {props.search && <li>Search by brand or category, like "Northwind" or "boots".</li>}
      </ul>
      <DepartmentLinks departments={props.departments} />
    </section>
  );
}

function DepartmentLinks(props: { departments: Department[] }): VNode {
  return (
    <>
      <h3>Or browse a department</h3>
      <ul class="chips">
        {props.departments.map((department) => (
          <li key={department.slug}>
            <a class="chip" href={`/c/${department.slug}`}>{department.name}</a>
          </li>
        ))}
      </ul>
    </>
  );
}

function Pager(props: ListingPageProps): VNode | null {
  const { page, count, query } = props;
  if (!page.prevCursor && !page.nextCursor) return null;
  const pages = Math.max(1, Math.ceil(count.total / query.limit));
  const current = Math.min(pages, Math.floor(count.offset / query.limit) + 1);
  return (
    <nav class="pager" aria-label="Pages">
      {page.prevCursor
        ? (
          <a
            class="button button-secondary"
            rel="prev"
            href={listingHref(props.action, query, { before: page.prevCursor })}
          >
            ← Previous
          </a>
        )
        : <span class="button button-secondary is-disabled" aria-hidden="true">← Previous</span>}
      <span class="pager-position" data-testid="page-position">Page {current} of {pages}</span>
      {page.nextCursor
        ? (
          <a
            class="button button-secondary"
            rel="next"
            href={listingHref(props.action, query, { cursor: page.nextCursor })}
          >
            Next →
          </a>
        )
        : <span class="button button-secondary is-disabled" aria-hidden="true">Next →</span>}
    </nav>
  );
}
