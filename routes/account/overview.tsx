import { Hono } from "hono";
import { getProductThumbnails } from "../../db/catalog.ts";
import type { Database } from "../../db/client.ts";
import { listOrders } from "../../db/orders.ts";
import { getUserById } from "../../db/users.ts";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import type { CartSessions } from "../cart/session.ts";
import { OrderCard } from "../orders/order_page.tsx";
import type { Department } from "../ui/navigation.ts";
import { renderPage } from "../ui/render.tsx";
import { AccountShell } from "./account_shell.tsx";
import { pageShopperId } from "./page_shopper.ts";

/** Orders the overview shows before linking to the whole history. */
const RECENT_ORDERS = 3;

const memberSince = new Intl.DateTimeFormat("en-US", { month: "long", year: "numeric" });

/** `/account`: the signed-in shopper's profile, latest orders and sign-out. */
export function accountOverview(
  deps: {
    database: Database;
    auth: Auth;
    carts: CartSessions;
    departments?: () => Promise<Department[]>;
  },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.get("/account", authenticate(deps.auth), async (c) => {
    const userId = await pageShopperId(c, deps.carts);
    if (!userId) return c.redirect("/account/login?next=%2Faccount", 303);
    const reader = deps.database.readerFor({ recentWrite: c.var.recentWrite === true });
    const [user, recent, departments] = await Promise.all([
      getUserById(reader, userId),
      listOrders(reader, userId, { limit: RECENT_ORDERS }),
      deps.departments?.().catch(() => undefined),
    ]);
    if (!user) return c.redirect("/account/login?next=%2Faccount", 303);
    const thumbnails = await getProductThumbnails(
      reader,
      recent.items.flatMap((order) => order.items.slice(0, 4).map((item) => item.productId)),
    );
    const name = user.name || user.email.split("@")[0];
    return renderPage(
      c,
      <AccountShell
        tab="overview"
        title="Your account"
        heading={`Hello, ${name}`}
        departments={departments}
      >
        <div class="account-grid">
          <section class="panel" aria-labelledby="recent-heading">
            <div class="panel-head">
              <h2 id="recent-heading">Recent orders</h2>
              {recent.items.length > 0 && <a href="/account/orders">All orders</a>}
            </div>
            {recent.items.length === 0
              ? (
                <div class="empty-state">
                  <p>No orders yet. When you order, you can follow each one here.</p>
                  <p class="actions">
                    <a class="button button-primary" href="/">Start shopping</a>
                  </p>
                </div>
              )
              : (
                <ul class="order-list">
                  {recent.items.map((order) => (
                    <OrderCard key={order.id} order={order} thumbnails={thumbnails} heading="h3" />
                  ))}
                </ul>
              )}
          </section>
          <section class="panel" aria-labelledby="profile-heading">
            <h2 id="profile-heading">Profile</h2>
            <dl class="facts" data-testid="profile">
              <div>
                <dt>Name</dt>
                <dd>{user.name || <span class="muted">Not set</span>}</dd>
              </div>
              <div>
                <dt>Email</dt>
                <dd>{user.email}</dd>
              </div>
              <div>
                <dt>Member since</dt>
                <dd>{memberSince.format(user.createdAt)}</dd>
              </div>
            </dl>
          </section>
        </div>
      </AccountShell>,
    );
  });
  return app;
}
