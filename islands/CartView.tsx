import { useRef } from "preact/hooks";
import { type CartView as Cart, itemCountLabel } from "./cart_client.ts";
import { CartLines, useCartEditor } from "./cart_lines.tsx";
import { formatMoney } from "./format.ts";
import { BagIcon, LockIcon } from "./icons.tsx";

export interface CartViewProps {
  cart: Cart;
  maxQuantity: number;
  /** The subtotal from which a shipping method is free, if one is. */
  freeShippingOverMinor?: number;
}

/**
 * The cart page's lines and summary. Without JavaScript every stepper and Remove button is a
 * form post that reloads the page; hydrated, they call the cart API, update the totals in place
 * and announce the change. An emptied cart turns into the empty state.
 */
export default function CartView(props: CartViewProps) {
  const heading = useRef<HTMLHeadingElement>(null);
  const editor = useCartEditor(props.cart, { onRemoved: () => heading.current?.focus() });
  const cart = editor.cart ?? props.cart;
  return (
    <div class="cart-view">
      <h2 class="cart-count-heading" ref={heading} tabindex={-1} data-testid="cart-heading">
        {cart.lines.length === 0 ? "No items yet" : itemCountLabel(cart.itemCount)}
      </h2>
      <p class="visually-hidden" role="status">{editor.announcement}</p>
      {editor.error && <p class="alert" role="alert">{editor.error}</p>}
      {cart.lines.length === 0 ? <EmptyCart /> : (
        <div class="cart-layout">
          <section class="cart-items" aria-label="Items in your cart">
            <CartLines
              cart={cart}
              maxQuantity={props.maxQuantity}
              idPrefix="cart"
              editor={editor}
            />
          </section>
          <CartSummary cart={cart} freeOverMinor={props.freeShippingOverMinor} />
        </div>
      )}
    </div>
  );
}

function CartSummary({ cart, freeOverMinor }: { cart: Cart; freeOverMinor?: number }) {
  const money = (minor: number) => formatMoney(minor, cart.currency);
  return (
    <aside class="summary-card" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Order summary</h2>
      {freeOverMinor !== undefined && (
        <div class="free-shipping" data-testid="free-shipping">
          <p>
            {cart.subtotalMinor >= freeOverMinor
              ? "Your order ships free."
              : `Add ${money(freeOverMinor - cart.subtotalMinor)} more for free shipping.`}
          </p>
          <progress
            value={Math.min(cart.subtotalMinor, freeOverMinor)}
            max={freeOverMinor}
            aria-hidden="true"
          />
        </div>
      )}
      <dl class="totals">
        <div>
          <dt>Subtotal</dt>
          <dd data-testid="cart-subtotal">{money(cart.subtotalMinor)}</dd>
        </div>
        <div>
          <dt>Shipping</dt>
          <dd class="muted">Chosen at checkout</dd>
        </div>
      </dl>
      {cart.warnings.length > 0 && (
        <p class="summary-note">
          Some items are short of stock. Adjust them here; stock is confirmed when you order.
        </p>
      )}
      <a class="button button-primary button-block" href="/checkout" data-testid="checkout-link">
        <LockIcon />
        Check out
      </a>
      <a class="button button-tertiary button-block" href="/">Continue shopping</a>
    </aside>
  );
}

function EmptyCart() {
  return (
    <div class="empty-cart" data-testid="empty-cart">
      <span class="empty-icon">
        <BagIcon />
      </span>
      <p class="empty-title">Your cart is empty</p>
      <p class="muted">Browse the departments or search for something you need.</p>
      <p class="actions">
        <a class="button button-primary" href="/">Start shopping</a>
        <a class="button button-secondary" href="/#departments">Browse departments</a>
      </p>
    </div>
  );
}
