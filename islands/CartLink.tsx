import { useEffect, useState } from "preact/hooks";
import { CART_CHANGED_EVENT, CART_COUNT_COOKIE, cartCountOf, readCookie } from "./cookies.ts";
import { BagIcon } from "./icons.tsx";

/**
 * The header's cart link with its item count, read from the readable `cart_count` cookie the
 * cart sets (the page itself is the same for every shopper). It re-reads the cookie when a
 * page announces a cart change or the shopper comes back to the tab, and announces changes.
 */
export default function CartLink() {
  const [count, setCount] = useState(0);
  const [announcement, setAnnouncement] = useState("");
  useEffect(() => {
    let known: number | undefined;
    function read() {
      const now = cartCountOf(readCookie(document.cookie, CART_COUNT_COOKIE));
      // The first read is what the page loaded with: shown, not announced.
      if (known !== undefined && now !== known) {
        setAnnouncement(`Cart updated: ${now} ${now === 1 ? "item" : "items"}`);
      }
      known = now;
      setCount(now);
    }
    read();
    const events = [CART_CHANGED_EVENT, "pageshow", "focus"];
    for (const name of events) addEventListener(name, read);
    return () => {
      for (const name of events) removeEventListener(name, read);
    };
  }, []);
  return (
    <>
      <a class="icon-button cart-link" href="/cart" title="Cart" data-testid="cart-link">
        <BagIcon />
        <span class="visually-hidden">
          Cart{count > 0 ? `, ${count} ${count === 1 ? "item" : "items"}` : ""}
        </span>
        <span class="cart-count" aria-hidden="true" hidden={count === 0} data-testid="cart-count">
          {count > 99 ? "99+" : count}
        </span>
      </a>
      <span class="visually-hidden" aria-live="polite">{announcement}</span>
    </>
  );
}
