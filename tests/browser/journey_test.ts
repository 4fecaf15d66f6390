/**
 * The shopper's journey in a real Chromium (playwright-core driving /usr/bin/chromium), at phone
 * and desktop sizes: home → category through the menu → filter and sort → product → choose
 * options → add to cart (the badge updates, the drawer opens) → search → register → sign in →
 * cart (stepper) → checkout (an answer lost and retried under one Idempotency-Key) → order
 * confirmation → the order in the account → its tracking page → sign out. Without JavaScript the
 * same browse, filter, option choice, add to cart (landing on the cart page) and search, then the
 * cart's stepper post and a guest checkout whose signed link opens the order elsewhere. Every
 * page visited is checked with axe-core (zero violations), its gzipped JavaScript is summed
 * against the budget, layout shift is measured, and screenshots go to tests/browser/output/.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { eq } from "drizzle-orm";
import type { ProductDetail } from "../../db/catalog.ts";
import { transitionOrder } from "../../db/orders.ts";
import { orders } from "../../db/schema.ts";
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
  globalThis.__shifted = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.hadRecentInput) continue;
      globalThis.__layoutShift += entry.value;
      for (const source of entry.sources ?? []) {
        const node = source.node;
        globalThis.__shifted.push(
          (node?.outerHTML ?? node?.nodeName ?? "?").slice(0, 120) + " " +
            JSON.stringify(source.previousRect) + " → " + JSON.stringify(source.currentRect),
        );
      }
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

/** The page's cumulative layout shift, and what moved (for the failure message). */
async function layoutShift(page: Page): Promise<{ score: number; moved: string[] }> {
  return await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const recorded = globalThis as any;
    return { score: recorded.__layoutShift as number, moved: recorded.__shifted as string[] };
  });
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
    const shift = await layoutShift(page);
    assert.equal(
      Number(shift.score.toFixed(4)),
      0,
      `${label}: layout shift of ${shift.moved.join("; ")}`,
    );
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

async function search(visit: Visit) {
  const { page } = visit;
  await page.fill("#site-search", "tents");
  await Promise.all([page.waitForURL(/\/search\?q=tents/), page.press("#site-search", "Enter")]);
  assert.equal(await page.inputValue("#site-search"), "tents", "the header keeps the query");
  assert.match(await page.textContent('[data-testid="result-count"]') ?? "", /\d+ products?/);
  assert.ok((await page.locator(".card").count()) > 0);
}

/** Every button, field and button-styled link in `scope` is a 44 px target with 16 px text. */
async function checkControls(page: Page, scope: string, label: string) {
  const problems = await page.$$eval(
    `${scope} :is(button, input, select, a.button):not([type="hidden"], .visually-hidden)`,
    (nodes) =>
      nodes.flatMap((node) => {
        const box = node.getBoundingClientRect();
        if (box.width === 0) return []; // not shown (another shipping method's total, say)
        const font = getComputedStyle(node).fontSize;
        const small = box.height < 44 || (node.matches("button, a") && box.width < 44);
        const radio = node.matches('[type="radio"], [type="checkbox"]');
        return (small && !radio) || (node.matches("input, select") && !radio && font !== "16px")
          ? [`${node.outerHTML.slice(0, 80)} ${box.width}×${box.height} ${font}`]
          : [];
      }),
  );
  assert.deepEqual(problems, [], `${label}: 44 px targets, 16 px form text`);
}

/** Waits until the header's cart badge shows `count`. */
async function badgeShows(page: Page, count: number) {
  await page.waitForFunction(
    (expected) => document.querySelector('[data-testid="cart-count"]')?.textContent === expected,
    String(count),
  );
}

/**
 * Adds two of the chosen variant. Without JavaScript the form posts and lands on the cart page
 * with the line; with it, the cart API answers, the badge updates and the drawer opens: focus
 * inside, Tab kept inside, Escape closes it and gives the focus back to the button.
 */
async function addToCart(visit: Visit, variantId: number) {
  const { page } = visit;
  const form = page.locator('form[data-testid="add-to-cart"]');
  assert.equal(await form.getAttribute("action"), ADD_TO_CART_FORM.action);
  assert.equal(await form.getAttribute("method"), ADD_TO_CART_FORM.method);
  assert.equal(
    await page.inputValue(`input[name="${ADD_TO_CART_FORM.fields.variantId}"]`),
    String(variantId),
  );
  await page.fill(`input[name="${ADD_TO_CART_FORM.fields.quantity}"]`, "2");
  const button = 'form[data-testid="add-to-cart"] button[type="submit"]';
  if (!visit.js) {
    await Promise.all([page.waitForURL(/\/cart\?added=1$/), page.click(button)]);
    await checkPage(visit, "cart after adding");
    assert.match(await page.textContent('[data-testid="cart-notice"]') ?? "", /Added/);
    const line = page.locator(`.line[data-variant-id="${variantId}"]`);
    assert.equal(await line.locator('[data-testid="quantity"]').inputValue(), "2");
    return;
  }
  await page.focus(button);
  await page.keyboard.press("Enter");
  await page.waitForSelector('[data-testid="cart-drawer"][open]');
  await badgeShows(page, 2);
  const drawer = page.locator('[data-testid="cart-drawer"]');
  assert.equal(
    await drawer.locator(`.line[data-variant-id="${variantId}"] [data-testid="quantity"]`)
      .inputValue(),
    "2",
  );
  await page.waitForFunction(() =>
    /^Added .+ to your cart\. Cart: 2 items\.$/.test(
      document.querySelector('[data-testid="cart-announcement"]')?.textContent ?? "",
    )
  );
  const focusInDrawer = () =>
    page.evaluate(() => document.activeElement?.closest(".cart-drawer") !== null);
  assert.ok(await focusInDrawer(), "the drawer takes the focus");
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press(i % 4 === 3 ? "Shift+Tab" : "Tab");
    assert.ok(await focusInDrawer(), `Tab ${i + 1} keeps the focus in the drawer`);
  }
  await page.waitForTimeout(300); // the opening slide has settled
  await checkAccessibility(page, `cart drawer (${visit.size})`);
  await checkControls(page, ".cart-drawer", `cart drawer (${visit.size})`);
  await page.screenshot({ path: new URL(`drawer-${visit.size}.png`, OUTPUT).pathname });
  await page.keyboard.press("Escape");
  await page.waitForSelector('[data-testid="cart-drawer"]:not([open])', { state: "attached" });
  assert.ok(
    await page.evaluate(() =>
      document.activeElement?.matches('form[data-testid="add-to-cart"] button') ?? false
    ),
    "closing gives the focus back to Add to cart",
  );
}

/** Register, then sign in, through the header's account icon; the cart comes along. */
async function registerAndSignIn(visit: Visit, email: string) {
  const { page } = visit;
  await Promise.all([page.waitForURL(/\/account\/login$/), page.click('[data-testid="sign-in"]')]);
  visit.scriptBytes(); // each page load is counted on its own
  await Promise.all([
    page.waitForURL(/\/account\/register$/),
    page.click('.account a[href="/account/register"]'),
  ]);
  await checkPage(visit, "register");
  for (const form of ["register", "login"]) {
    await page.fill("#email", email);
    await page.fill("#password", "a long passphrase");
    await Promise.all([page.waitForNavigation(), page.click('.account button[type="submit"]')]);
    if (form === "register") {
      assert.match(page.url(), /\/account\/login\?registered=1$/);
      await checkPage(visit, "sign in");
    }
  }
  assert.equal(new URL(page.url()).pathname, "/");
  await page.waitForSelector('[data-testid="account-menu"]');
  await badgeShows(page, 2);
  await checkPage(visit, "home, signed in with a cart");
  await page.click('[data-testid="account-menu"] > summary');
  assert.match(await page.textContent(".account-panel") ?? "", /Signed in as shopper-/);
  await checkAccessibility(page, `account menu open (${visit.size})`);
  await page.click('[data-testid="account-menu"] > summary');
}

/** On the cart page: one more of the line with the stepper; totals and badge follow. */
async function stepUpOnCartPage(visit: Visit, variantId: number) {
  const { page } = visit;
  const line = page.locator(`.cart-view .line[data-variant-id="${variantId}"]`);
  const before = await line.locator('[data-testid="line-total"]').textContent();
  await line.locator('[data-testid="increase"]').click();
  if (!visit.js) await page.waitForLoadState("load");
  await page.waitForFunction(
    (id) =>
      (document.querySelector(
        `.cart-view .line[data-variant-id="${id}"] [data-testid="quantity"]`,
      ) as HTMLInputElement | null)?.value === "3",
    variantId,
  );
  assert.notEqual(await line.locator('[data-testid="line-total"]').textContent(), before);
  if (visit.js) {
    await badgeShows(page, 3);
    await page.waitForFunction(() =>
      /quantity 3\. Cart: 3 items/.test(
        document.querySelector('.cart-view [role="status"]')?.textContent ?? "",
      )
    );
  } else {
    await checkPage(visit, "cart after a stepper post");
  }
}

/** Fills the shipping address and picks express; the review's total follows the choice. */
async function fillCheckout(visit: Visit, guestEmail?: string) {
  const { page } = visit;
  if (guestEmail) await page.fill("#field-email", guestEmail);
  await page.fill("#field-name", "Ada Lovelace");
  await page.fill("#field-line1", "12 Analytical Row");
  await page.fill("#field-city", "London");
  await page.fill("#field-postal_code", "N1 9GU");
  await page.selectOption("#field-country", "GB");
  const total = () => page.locator('.option-total:visible [data-testid="checkout-total"]');
  const standard = await total().textContent();
  await page.check('input[name="shipping_option"][value="express"]');
  assert.notEqual(await total().textContent(), standard, "the total follows the method");
  assert.equal(await page.locator(".option-total:visible").count(), 1);
}

/**
 * Places the order with JavaScript, losing the first answer on its way back: the order is
 * placed, the page hears nothing, and the retry (same Idempotency-Key) gets the same order.
 */
async function placeOrderWithLostAnswer(visit: Visit): Promise<string[]> {
  const { page } = visit;
  const keys: string[] = [];
  await page.route("**/api/checkout", async (route) => {
    keys.push(route.request().headers()["idempotency-key"]);
    if (keys.length === 1) {
      const answer = await route.fetch();
      assert.equal(answer.status(), 201, "the shop placed the order");
      await route.abort("connectionreset");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 400)); // a slow answer
    await route.continue();
  });
  try {
    await page.click('[data-testid="place-order"]');
    await page.waitForSelector('[data-testid="checkout-error"]');
    const retried = page.click('[data-testid="place-order"]');
    await page.waitForSelector('[data-testid="place-order"]:disabled');
    await Promise.all([page.waitForURL(/\/orders\/[0-9a-f-]{36}\?token=.+&placed=1$/), retried]);
  } finally {
    await page.unroute("**/api/checkout");
  }
  return keys;
}

async function ordersOf(shop: Shop, email: string) {
  const db = shop.services.services.database.writer;
  return await db.select({ id: orders.id }).from(orders).where(eq(orders.email, email));
}

/** With JavaScript: register, sign in, cart, checkout, confirmation, account, tracking. */
async function buyAsAccount(visit: Visit, shop: Shop, variantId: number) {
  const { page, size } = visit;
  const email = `shopper-${size}@example.com`;
  await registerAndSignIn(visit, email);
  await Promise.all([page.waitForURL(/\/cart$/), page.click('[data-testid="cart-link"]')]);
  await checkPage(visit, "cart");
  await checkControls(page, ".cart-view", `cart (${size})`);
  await stepUpOnCartPage(visit, variantId);
  await page.screenshot({ path: new URL(`cart-${size}.png`, OUTPUT).pathname, fullPage: true });
  await Promise.all([
    page.waitForURL(/\/checkout$/),
    page.click('[data-testid="checkout-link"]'),
  ]);
  await checkPage(visit, "checkout");
  assert.equal(await page.textContent('[data-testid="account-email"] strong'), email);
  await checkControls(page, ".checkout-form", `checkout (${size})`);
  await fillCheckout(visit);
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({
    path: new URL(`checkout-${size}.png`, OUTPUT).pathname,
    fullPage: true,
  });
  const keys = await placeOrderWithLostAnswer(visit);
  assert.equal(keys.length, 2);
  assert.match(keys[0], /^[\w-]{8,}$/, "the checkout sends an Idempotency-Key");
  assert.equal(keys[1], keys[0], "the retry keeps its key");
  const placed = await ordersOf(shop, email);
  assert.equal(placed.length, 1, "one order, however many answers were lost");
  await checkPage(visit, "order confirmation");
  assert.match(await page.textContent("h1") ?? "", /Thank you/);
  assert.equal(await page.isVisible('[data-testid="cart-count"]'), false, "the cart is empty");
  await page.screenshot({
    path: new URL(`confirmation-${size}.png`, OUTPUT).pathname,
    fullPage: true,
  });

  const [{ id }] = placed;
  await transitionOrder(shop.services.services.database.writer, id, "shipped", {
    note: "Tracking number 1Z999AA10123456784",
  });
  await page.click('[data-testid="account-menu"] > summary');
  await Promise.all([
    page.waitForURL(/\/account\/orders$/),
    page.click('[data-testid="orders-link"]'),
  ]);
  await checkPage(visit, "order history");
  const card = page.locator('[data-testid="order-card"]');
  assert.equal(await card.count(), 1);
  assert.equal(await card.locator('[data-testid="order-status"]').textContent(), "On its way");
  await Promise.all([
    page.waitForURL(`**/account/orders/${id}`),
    card.locator(".order-card-title a").click(),
  ]);
  await checkPage(visit, "order tracking");
  const shipped = page.locator('[data-testid="timeline"] .step-shipped');
  assert.match(await shipped.getAttribute("class") ?? "", /current/);
  assert.match(await shipped.textContent() ?? "", /Tracking number 1Z999AA10123456784/);
  assert.match(
    await page.getAttribute('[data-testid="timeline"] .step-delivered', "class") ?? "",
    /upcoming/,
  );
  await page.screenshot({ path: new URL(`tracking-${size}.png`, OUTPUT).pathname });

  await page.goto("/account");
  await checkPage(visit, "account");
  assert.match(await page.textContent('[data-testid="profile"]') ?? "", new RegExp(email));
  await Promise.all([page.waitForURL(`${shop.base}/`), page.click('[data-testid="sign-out"]')]);
  await page.waitForSelector('[data-testid="sign-in"]');
}

/**
 * Without JavaScript: the cart's stepper posts, checkout as a guest (the form's hidden key),
 * and the signed link from the confirmation opens the order in another browser.
 */
async function buyAsGuest(visit: Visit, shop: Shop, browser: Browser, variantId: number) {
  const { page, size } = visit;
  await page.goto("/cart");
  visit.scriptBytes();
  await stepUpOnCartPage(visit, variantId);
  await Promise.all([
    page.waitForURL(/\/checkout$/),
    page.click('[data-testid="checkout-link"]'),
  ]);
  await checkPage(visit, "checkout");
  const key = await page.inputValue('input[name="idempotency_key"]');
  assert.match(key, /^[0-9a-f-]{36}$/, "the form carries a key generated for it");
  const email = `guest-${size}@example.com`;
  await fillCheckout(visit, email);
  await Promise.all([
    page.waitForURL(/\/orders\/[0-9a-f-]{36}\?token=.+&placed=1$/),
    page.click('[data-testid="place-order"]'),
  ]);
  await checkPage(visit, "order confirmation");
  assert.match(await page.textContent("h1") ?? "", /Thank you/);
  assert.equal((await ordersOf(shop, email)).length, 1);
  const link = page.url().replace("&placed=1", "");
  const elsewhere = await browser.newContext({ javaScriptEnabled: false });
  try {
    const other = await elsewhere.newPage();
    const answer = await other.goto(link);
    assert.equal(answer?.status(), 200, "the signed link opens the order anywhere");
    assert.match(await other.textContent("h1") ?? "", /^Order [0-9A-F]{8}$/);
    assert.equal(await other.locator('[data-testid="timeline"] .step-pending.current').count(), 1);
  } finally {
    await elsewhere.close();
  }
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
    const shots = js ? undefined : "";
    await page.goto("/");
    await checkPage(visit, "home", shots ?? "home");
    await openTentsFromMenu(visit);
    await checkPage(visit, "category");
    await filterAndSort(visit);
    await checkPage(visit, "filtered listing", shots ?? "listing");
    const card = await productCardWithChoices(visit, shop);
    await Promise.all([page.waitForURL(/\/p\//), page.click(`.card a[href="${card}"]`)]);
    await checkPage(visit, "product");
    const chosen = await chooseOption(visit, shop);
    if (js) {
      await page.screenshot({ path: new URL(`product-${size}.png`, OUTPUT).pathname });
    } else {
      await checkPage(visit, "product with a choice");
    }
    await addToCart(visit, chosen.id);
    await page.goto("/");
    visit.scriptBytes();
    await search(visit);
    await checkPage(visit, "search");
    for (const path of ["/account/login", "/no-such-page"]) {
      await page.goto(path);
      await checkPage(visit, path);
    }
    if (js) await buyAsAccount(visit, shop, chosen.id);
    else await buyAsGuest(visit, shop, browser, chosen.id);
  } finally {
    await context.close();
  }
}

Deno.test("[browser] the shopper's journey from home to tracking, at phone and desktop sizes, with and without JavaScript", async (t) => {
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
    }
  } finally {
    await browser?.close();
    await shop.close();
  }
});
