import { useEffect, useRef, useState } from "preact/hooks";
import { ADD_TO_CART_FORM } from "./add_to_cart.ts";
import { type CartChange, itemCountLabel } from "./cart_client.ts";
import { CartLines, useCartEditor } from "./cart_lines.tsx";
import { CART_CHANGED_EVENT } from "./cookies.ts";
import { formatMoney } from "./format.ts";
import { CheckIcon, CloseIcon } from "./icons.tsx";

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), [tabindex='0']";

/**
 * The cart in a side panel that opens after an add to cart. A modal `<dialog>`: the page behind
 * is inert, Tab cycles inside it, Escape or the backdrop closes it and the focus goes back to
 * where it was. Without JavaScript it never opens: the add-to-cart form lands on the cart page.
 */
export default function CartDrawer() {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const title = useRef<HTMLHeadingElement>(null);
  const [added, setAdded] = useState<number | undefined>(undefined);
  const editor = useCartEditor(undefined, { onRemoved: () => title.current?.focus() });
  const cart = editor.cart;

  useEffect(() => {
    function open(event: Event) {
      const change = (event as CustomEvent<CartChange | undefined>).detail;
      const panel = dialog.current;
      if (!change?.open || !panel) return;
      setAdded(change.addedVariantId);
      const line = change.cart.lines.find((l) => l.variantId === change.addedVariantId);
      editor.say(
        `${line ? `Added ${line.productName} to your cart.` : "Cart updated."} ` +
          `Cart: ${itemCountLabel(change.cart.itemCount)}.`,
      );
      if (panel.open) return;
      opener.current = document.activeElement as HTMLElement | null;
      panel.showModal();
      title.current?.focus();
    }
    addEventListener(CART_CHANGED_EVENT, open);
    return () => removeEventListener(CART_CHANGED_EVENT, open);
  }, []);

  function close() {
    dialog.current?.close();
  }

  function trapTab(event: KeyboardEvent) {
    if (event.key !== "Tab" || !dialog.current) return;
    const targets = [...dialog.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = targets[0];
    const last = targets[targets.length - 1];
    const active = document.activeElement;
    if (event.shiftKey && (active === first || active === title.current)) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first?.focus();
    }
  }

  const addedLine = cart?.lines.find((line) => line.variantId === added);
  return (
    <>
      <dialog
        ref={dialog}
        class="cart-drawer"
        aria-labelledby="cart-drawer-title"
        data-testid="cart-drawer"
        onKeyDown={trapTab}
        onClose={() => opener.current?.focus()}
        onClick={(event) => {
          if (event.target === dialog.current) close(); // the backdrop
        }}
      >
        <div class="drawer-inner">
          <header class="drawer-header">
            <h2 id="cart-drawer-title" ref={title} tabindex={-1}>
              {addedLine
                ? (
                  <>
                    <CheckIcon /> Added to your cart
                  </>
                )
                : "Your cart"}
            </h2>
            <button
              type="button"
              class="icon-button"
              onClick={close}
              aria-label="Close cart"
              data-testid="close-drawer"
            >
              <CloseIcon />
            </button>
          </header>
          {editor.error && <p class="alert" role="alert">{editor.error}</p>}
          <div class="drawer-body">
            {cart && cart.lines.length > 0
              ? (
                <CartLines
                  cart={cart}
                  maxQuantity={ADD_TO_CART_FORM.maxQuantity}
                  idPrefix="drawer"
                  editor={editor}
                  compact
                />
              )
              : <p class="muted">Your cart is empty.</p>}
          </div>
          {cart && cart.lines.length > 0 && (
            <footer class="drawer-footer">
              <p class="drawer-subtotal">
                <span>Subtotal · {itemCountLabel(cart.itemCount)}</span>
                <strong data-testid="drawer-subtotal">
                  {formatMoney(cart.subtotalMinor, cart.currency)}
                </strong>
              </p>
              <p class="muted">Shipping is chosen at checkout.</p>
              <a class="button button-primary button-block" href="/checkout">Check out</a>
              <a class="button button-secondary button-block" href="/cart">View cart</a>
            </footer>
          )}
        </div>
      </dialog>
      <p class="visually-hidden" role="status" data-testid="cart-announcement">
        {editor.announcement}
      </p>
    </>
  );
}
