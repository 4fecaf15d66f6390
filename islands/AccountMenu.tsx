import { useEffect, useState } from "preact/hooks";
import { ACCOUNT_NAME_COOKIE, readCookie } from "./cookies.ts";
import { AccountIcon } from "./icons.tsx";

/**
 * The header's account state. The server renders every page for every shopper alike (the
 * edge cache shares them), so it always renders "Sign in"; in the browser this reads the
 * readable `account_name` cookie set at sign-in and turns into the account menu: the account,
 * its orders and sign-out.
 */
export default function AccountMenu() {
  const [name, setName] = useState<string | undefined>(undefined);
  useEffect(() => setName(readCookie(document.cookie, ACCOUNT_NAME_COOKIE)), []);
  if (!name) {
    return (
      <a class="icon-button" href="/account/login" title="Sign in" data-testid="sign-in">
        <AccountIcon />
        <span class="visually-hidden">Sign in</span>
      </a>
    );
  }
  return (
    <details class="account-menu" data-testid="account-menu">
      <summary class="icon-button" title="Account">
        <span class="avatar" aria-hidden="true">{name.slice(0, 1).toUpperCase()}</span>
        <span class="visually-hidden">Account: {name}</span>
      </summary>
      <div class="account-panel">
        <p>
          Signed in as <strong>{name}</strong>
        </p>
        <ul class="account-links">
          <li>
            <a href="/account">Your account</a>
          </li>
          <li>
            <a href="/account/orders" data-testid="orders-link">Orders</a>
          </li>
        </ul>
        <form method="post" action="/api/auth/logout">
          <button type="submit" class="button button-secondary">Sign out</button>
        </form>
      </div>
    </details>
  );
}
