/** The one page layout: head, skip link, header (menu, search, account, cart), footer. */
import type { ComponentChildren, VNode } from "preact";
import AccountMenu from "../../islands/AccountMenu.tsx";
import CartDrawer from "../../islands/CartDrawer.tsx";
import CartLink from "../../islands/CartLink.tsx";
import { MenuIcon, SearchIcon } from "../../islands/icons.tsx";
import { assets } from "./assets.ts";
import { Island } from "./island.tsx";
import type { Department } from "./navigation.ts";

export const SHOP_NAME = "Edge Shop";
export const SHIPPING_NOTE = "Free shipping over $75 · Free 30-day returns";

export interface LayoutProps {
  title: string;
  description?: string;
  children: ComponentChildren;
  /** The category menu; pages without catalog data show a link to the departments instead. */
  departments?: readonly Department[];
  /** The search the page shows, kept in the header's search box. */
  searchQuery?: string;
  /** Extra head elements: canonical link, Open Graph tags, structured data. */
  head?: ComponentChildren;
}

export function Layout(props: LayoutProps): VNode {
  const departments = props.departments ?? [];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${SHOP_NAME}`}</title>
        {props.description && <meta name="description" content={props.description} />}
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href={assets.stylesheet} />
        <script type="module" src={assets.islands} />
        {props.head}
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to content</a>
        <header class="site-header">
          <p class="announcement">{SHIPPING_NOTE}</p>
          <div class="header-bar page-width">
            {departments.length > 0 && <MenuDrawer departments={departments} />}
            <a class="brand" href="/">{SHOP_NAME}</a>
            <SearchForm query={props.searchQuery} />
            <div class="header-actions">
              <Island name="AccountMenu" class="header-slot">
                <AccountMenu />
              </Island>
              <Island name="CartLink" class="header-slot">
                <CartLink />
              </Island>
            </div>
          </div>
          {departments.length > 0 && <MegaMenu departments={departments} />}
        </header>
        <main id="main" class="page-width" tabindex={-1}>{props.children}</main>
        <Footer departments={departments} />
        <Island name="CartDrawer">
          <CartDrawer />
        </Island>
      </body>
    </html>
  );
}

function SearchForm(props: { query?: string }): VNode {
  return (
    <form class="search" action="/search" method="get" role="search">
      <label class="visually-hidden" for="site-search">Search products</label>
      <input
        id="site-search"
        type="search"
        name="q"
        value={props.query}
        placeholder="Search products"
        maxLength={100}
        autocomplete="off"
      />
      <button type="submit" class="search-button" title="Search">
        <SearchIcon />
        <span class="visually-hidden">Search</span>
      </button>
    </form>
  );
}

/** The phone menu: a disclosure (no script needed) with each department as a nested one. */
function MenuDrawer(props: { departments: readonly Department[] }): VNode {
  return (
    <details class="menu-drawer">
      <summary class="icon-button" title="Menu">
        <MenuIcon />
        <span class="visually-hidden">Menu</span>
      </summary>
      <nav class="drawer-panel" aria-label="Shop menu">
        <ul>
          {props.departments.map((department) => (
            <li key={department.slug}>
              <details>
                <summary>{department.name}</summary>
                <ul>
                  <li>
                    <a href={`/c/${department.slug}`}>All {department.name.toLowerCase()}</a>
                  </li>
                  {department.categories.map((category) => (
                    <li key={category.slug}>
                      <a href={`/c/${category.slug}`}>{category.name}</a>
                    </li>
                  ))}
                </ul>
              </details>
            </li>
          ))}
        </ul>
      </nav>
    </details>
  );
}

/** The desktop menu: each department a link whose categories open on hover or focus. */
function MegaMenu(props: { departments: readonly Department[] }): VNode {
  return (
    <nav class="mega-menu" aria-label="Departments">
      <ul class="page-width">
        {props.departments.map((department) => (
          <li class="mega-item" key={department.slug}>
            <a class="mega-link" href={`/c/${department.slug}`}>{department.name}</a>
            <ul class="mega-panel">
              {department.categories.map((category) => (
                <li key={category.slug}>
                  <a href={`/c/${category.slug}`}>{category.name}</a>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Footer(props: { departments: readonly Department[] }): VNode {
  return (
    <footer class="site-footer">
      <div class="footer-grid page-width">
        <div>
          <h2>{SHOP_NAME}</h2>
          <p>
            Well-made goods for the outdoors, the kitchen and the home, from the edge nearest you.
          </p>
        </div>
        <nav aria-label="Footer">
          <h2>Shop</h2>
          <ul>
            {props.departments.length === 0 && (
              <li>
                <a href="/#departments">All departments</a>
              </li>
            )}
            {props.departments.map((department) => (
              <li key={department.slug}>
                <a href={`/c/${department.slug}`}>{department.name}</a>
              </li>
            ))}
          </ul>
        </nav>
        <div>
          <h2>Customer care</h2>
          <ul>
            <li>Free shipping on orders over $75</li>
            <li>Free returns within 30 days</li>
            <li>Orders ship within 2 business days</li>
          </ul>
        </div>
        <div>
          <h2>Account</h2>
          <ul>
            <li>
              <a href="/account/login">Sign in</a>
            </li>
            <li>
              <a href="/account/register">Create an account</a>
            </li>
            <li>
              <a href="/account/orders">Your orders</a>
            </li>
          </ul>
        </div>
      </div>
      <p class="legal page-width">© 2026 {SHOP_NAME}. Prices in US dollars.</p>
    </footer>
  );
}
