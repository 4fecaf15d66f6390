/**
 * The shopper's journey in a real Chromium (playwright-core driving /usr/bin/chromium), at phone
 * and desktop sizes, with and without JavaScript: home → category through the menu → filter and
 * sort → product → choose options → the add-to-cart form posts its contract → search. Every page
 * visited is checked with axe-core (zero violations), its gzipped JavaScript is summed against
 * the budget, layout shift is measured, and screenshots go to tests/browser/output/.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import type { ProductDetail } from "../../db/catalog.ts";
import { ADD_TO_CART_FORM } from "../../islands/add_to_cart.ts";
import { formatMoney } from "../../islands/format.ts";
import { resolveVariant } from "../../islands/variant_options.ts";
import { openTestServices, type TestServices } from "../fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
];
const JS_BUDGET_BYTES = 25 * 1024;
const OUTPUT = new URL("./output/", import.meta.url);
const AXE_SOURCE = await Deno.readTextFile(
  new URL("../../node_modules/axe-core/axe.min.js", import.meta.url),
);
const SIZES = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
} as const;
type Size = keyof typeof SIZES;

/** Records layout shifts from the first paint on (a page's own script could come too late). */
const LAYOUT_SHIFT_RECORDER = `
  globalThis.__layoutShift = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!entry.hadRecentInput) globalThis.__layoutShift += entry.value;
    }
  }).observe({ type: "layout-shift", buffered: true });
`;

interface Shop {
  base: string;
  services: TestServices;
  close(): Promise<void>;
}

async function startShop(): Promise<Shop> {
  const services = await openTestServices({ productCount: 600 });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    services.app.fetch,
  );
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    services,
    async close() {
      await server.shutdown();
      await services.close();
    },
  };
}

/** Per page load: the gzipped size of every script it fetched. */
function trackScripts(page: Page): () => number {
  let bytes = 0;
  page.on("response", async (response) => {
    if (response.request().resourceType() !== "script") return;
    try {
      bytes += gzipSync(await response.body()).length;
    } catch {
      // a navigation away discarded the body; the next page counts its own
    }
  });
  return () => {
    const total = bytes;
    bytes = 0;
    return total;
  };
}

async function checkAccessibility(page: Page, label: string) {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) stays as served.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    type Violation = { id: string; help: string; nodes: { target: string[] }[] };
    const axe = (globalThis as unknown as {
      axe: { run(context: Document): Promise<{ violations: Violation[] }> };
    }).axe;
    const result = await axe.run(document);
    return result.violations.map((v) =>
      `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`
    );
  });
  assert.deepEqual(violations, [], `axe-core on ${label}`);
}

async function layoutShift(page: Page): Promise<number> {
  // deno-lint-ignore no-explicit-any
  return await page.evaluate(() => (globalThis as any).__layoutShift as number);
}

interface Visit {
  page: Page;
  size: Size;
  js: boolean;
  scriptBytes: () => number;
}

/** Checks the page just loaded: JS budget always; axe and layout shift where scripts run. */
async function checkPage(visit: Visit, label: string, screenshot?: string) {
  const { page } = visit;
  await page.waitForLoadState("networkidle");
  const bytes = visit.scriptBytes();
  assert.ok(bytes <= JS_BUDGET_BYTES, `${label}: ${bytes} bytes of gzipped JavaScript`);
  if (visit.js && label === "home") {
    console.log(`gzipped JavaScript on the home page: ${bytes} bytes`);
  }
  if (visit.js) {
    assert.ok(bytes > 0, `${label}: the island bundle loads`);
    assert.equal(Number((await layoutShift(page)).toFixed(4)), 0, `${label}: layout shift`);
    await checkAccessibility(page, `${label} (${visit.size})`);
  } else {
    assert.equal(bytes, 0, `${label}: no script runs without JavaScript`);
  }
  if (screenshot) {
    await page.screenshot({ path: new URL(`${screenshot}-${visit.size}.png`, OUTPUT).pathname });
  }
}

/** Opens Tents through the header's menu, as a shopper on that screen would. */
async function openTentsFromMenu(visit: Visit) {
  const { page } = visit;
  if (visit.size === "phone") {
    await page.click(".menu-drawer > summary");
    await page.click('.drawer-panel summary:text("Outdoor")');
    await page.click('.drawer-panel a[href="/c/outdoor-tents"]');
  } else {
    await page.hover('.mega-link[href="/c/outdoor"]');
    await page.click('.mega-panel a[href="/c/outdoor-tents"]');
  }
  await page.waitForURL(/\/c\/outdoor-tents$/);
}

async function filterAndSort(visit: Visit) {
  const { page } = visit;
  await page.fill("#max_price", "300");
  await page.check("#in_stock");
  await page.selectOption("#sort", "price_asc");
  await Promise.all([
    page.waitForURL(/sort=price_asc/),
    page.click('.filters button[type="submit"]'),
  ]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get("min_price"), "", "the empty Min price field was submitted");
  assert.equal(url.searchParams.get("in_stock"), "true");
  assert.equal(await page.inputValue("#max_price"), "300", "the filter keeps its state");
  assert.equal(await page.inputValue("#sort"), "price_asc");
  assert.ok(await page.isChecked("#in_stock"));
  assert.match(await page.textContent('[data-testid="result-count"]') ?? "", /\d+ products?/);
  const prices =
    (await page.$$eval(".card-price", (nodes) => nodes.map((n) => n.textContent ?? "")))
      .map((text) => Number(text.replace(/[^\d.]/g, "")));
  assert.ok(prices.length > 0, "the filtered listing has products");
  assert.ok(prices.every((price) => price <= 300));
  assert.deepEqual(prices, [...prices].sort((a, b) => a - b), "sorted by price, low to high");
}

/** The first card on the listing whose product has two variants in stock to choose between. */
async function productCardWithChoices(visit: Visit, shop: Shop): Promise<string> {
  const hrefs = await visit.page.$$eval(
    ".card a",
    (nodes) => nodes.map((node) => (node as HTMLAnchorElement).getAttribute("href")!),
  );
  for (const href of hrefs) {
    const product: ProductDetail =
      await (await fetch(`${shop.base}/api${href.replace("/p/", "/products/")}`))
        .json();
    if (product.variants.filter((variant) => variant.available > 0).length >= 2) return href;
  }
  throw new Error("no product on the listing has two variants in stock");
}

/** Picks another option value and checks the URL, price and form follow it. */
async function chooseOption(visit: Visit, shop: Shop) {
  const { page } = visit;
  const slug = new URL(page.url()).pathname.split("/").pop()!;
  const product: ProductDetail = await (await fetch(`${shop.base}/api/products/${slug}`)).json();
  const links = await page.$$eval(
    ".option-link:not([aria-current]):not(.sold-out)",
    (nodes) => nodes.map((node) => (node as HTMLAnchorElement).getAttribute("href")!),
  );
  assert.ok(links.length > 0, "the product has another option value in stock");
  const href = links[0];
  const params = Object.fromEntries(new URL(href, shop.base).searchParams);
  const expected = resolveVariant(product.variants, params)!;
  await Promise.all([
    page.waitForURL((url) => url.search === new URL(href, shop.base).search),
    page.click(`.option-link[href="${href}"]`),
  ]);
  const price = formatMoney(expected.priceMinor, expected.currency);
  await page.waitForFunction(
    (text) => document.querySelector('[data-testid="price"]')?.textContent === text,
    price,
  );
  const { fields } = ADD_TO_CART_FORM;
  assert.equal(await page.inputValue(`input[name="${fields.variantId}"]`), String(expected.id));
  if (visit.js) {
    assert.equal(
      await page.getAttribute(".buy-status", "aria-live"),
      "polite",
      "price and stock changes are announced",
    );
  }
  return expected;
}

/** The add-to-cart form posts variant_id and quantity to /cart/items (the cart answers later). */
async function checkAddToCartForm(visit: Visit, variantId: number) {
  const { page } = visit;
  const form = page.locator('form[data-testid="add-to-cart"]');
  assert.equal(await form.getAttribute("action"), ADD_TO_CART_FORM.action);
  assert.equal(await form.getAttribute("method"), ADD_TO_CART_FORM.method);
  const posted = new Promise<{ method: string; body: string }>((resolve) => {
    page.route(`**${ADD_TO_CART_FORM.action}`, async (route) => {
      resolve({ method: route.request().method(), body: route.request().postData() ?? "" });
      await route.fulfill({
        status: 200,
        contentType: "text/html",
        body: "<!doctype html><title>ok</title>",
      });
    });
  });
  await page.fill(`input[name="${ADD_TO_CART_FORM.fields.quantity}"]`, "2");
  await page.click('form[data-testid="add-to-cart"] button[type="submit"]');
  const request = await posted;
  assert.equal(request.method, "POST");
  const body = new URLSearchParams(request.body);
  assert.equal(body.get(ADD_TO_CART_FORM.fields.variantId), String(variantId));
  assert.equal(body.get(ADD_TO_CART_FORM.fields.quantity), "2");
  await page.unroute(`**${ADD_TO_CART_FORM.action}`);
}

async function search(visit: Visit) {
  const { page } = visit;
  await page.fill("#site-search", "tents");
  await Promise.all([page.waitForURL(/\/search\?q=tents/), page.press("#site-search", "Enter")]);
  assert.equal(await page.inputValue("#site-search"), "tents", "the header keeps the query");
  assert.match(await page.textContent('[data-testid="result-count"]') ?? "", /\d+ products?/);
  assert.ok((await page.locator(".card").count()) > 0);
}

async function journey(browser: Browser, shop: Shop, size: Size, js: boolean) {
  const context: BrowserContext = await browser.newContext({
    viewport: SIZES[size],
    javaScriptEnabled: js,
    baseURL: shop.base,
  });
  try {
    await context.addInitScript(LAYOUT_SHIFT_RECORDER);
    const page = await context.newPage();
    const visit: Visit = { page, size, js, scriptBytes: trackScripts(page) };
    const shots = js ? "" : undefined;
    await page.goto("/");
    await checkPage(visit, "home", shots ?? "home");
    await openTentsFromMenu(visit);
    await checkPage(visit, "category");
    await filterAndSort(visit);
    await checkPage(visit, "filtered listing", shots ?? "listing");
    const card = await productCardWithChoices(visit, shop);
    await Promise.all([page.waitForURL(/\/p\//), page.click(`.card a[href="${card}"]`)]);
    await checkPage(visit, "product", shots ?? "product");
    const chosen = await chooseOption(visit, shop);
    if (!js) await checkPage(visit, "product with a choice");
    await checkAddToCartForm(visit, chosen.id);
    await page.goto("/");
    visit.scriptBytes();
    await search(visit);
    await checkPage(visit, "search");
    for (const path of ["/account/login", "/account/register", "/no-such-page"]) {
      await page.goto(path);
      await checkPage(visit, path);
    }
  } finally {
    await context.close();
  }
}

/** A signed-in shopper with a cart: the islands fill the header from the readable cookies. */
async function signedInHeader(browser: Browser, shop: Shop, size: Size) {
  const context = await browser.newContext({ viewport: SIZES[size], baseURL: shop.base });
  try {
    await context.addInitScript(LAYOUT_SHIFT_RECORDER);
    const page = await context.newPage();
    const visit: Visit = { page, size, js: true, scriptBytes: trackScripts(page) };
    const email = `ada-${size}@example.com`;
    for (const form of ["register", "login"]) {
      await page.goto(`/account/${form}`);
      await page.fill("#email", email);
      await page.fill("#password", "a long passphrase");
      await Promise.all([page.waitForNavigation(), page.click('.account button[type="submit"]')]);
    }
    // The cart sets this one on every change; the cart itself arrives with the buying path.
    await context.addCookies([{ name: "cart_count", value: "3", url: shop.base }]);
    visit.scriptBytes(); // the forms' page loads counted for themselves
    await page.goto("/c/outdoor-tents");
    await page.waitForSelector('[data-testid="account-menu"]');
    assert.equal(await page.textContent('[data-testid="cart-count"]'), "3");
    assert.equal(await page.getAttribute('[data-testid="cart-link"]', "href"), "/cart");
    await checkPage(visit, "listing, signed in with a cart");
    await page.click('[data-testid="account-menu"] > summary');
    assert.match(
      await page.textContent(".account-panel") ?? "",
      new RegExp(`Signed in as ada-${size}`),
    );
    await checkAccessibility(page, `account menu open (${size})`);
    await context.addCookies([{ name: "cart_count", value: "4", url: shop.base }]);
    await page.evaluate(() => dispatchEvent(new Event("cart:changed")));
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="cart-count"]')?.textContent === "4"
    );
    await Promise.all([page.waitForURL(`${shop.base}/`), page.click(".account-panel button")]);
    await page.waitForSelector('[data-testid="sign-in"]');
  } finally {
    await context.close();
  }
}

Deno.test("[browser] the shopper's journey at phone and desktop sizes, with and without JavaScript", async (t) => {
  await Deno.mkdir(OUTPUT, { recursive: true });
  const shop = await startShop();
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    for (const size of ["phone", "desktop"] as const) {
      await t.step(`${size}, with JavaScript`, () => journey(browser!, shop, size, true));
      await t.step(`${size}, without JavaScript`, () => journey(browser!, shop, size, false));
      await t.step(`${size}, signed in with a cart`, () => signedInHeader(browser!, shop, size));
    }
  } finally {
    await browser?.close();
    await shop.close();
  }
});
