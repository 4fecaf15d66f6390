/**
 * Cart lines with quantity steppers and remove buttons, shared by the cart page (CartView) and
 * the cart drawer (CartDrawer). Every control is a small form posting to the cart's form
 * endpoints, so it works without JavaScript; hydrated, `useCartEditor` turns the same submits
 * into cart API calls and announces the result.
 */
import type { VNode } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  announceCartChange,
  type CartChange,
  type CartLineView,
  type CartResult,
  type CartView,
  itemCountLabel,
  removeLine,
  setLineQuantity,
} from "./cart_client.ts";
import { CART_CHANGED_EVENT } from "./cookies.ts";
import { formatMoney } from "./format.ts";
import { MinusIcon, PlusIcon } from "./icons.tsx";

/** The cart form endpoints (routes/cart/pages.tsx answers them with 303 to `/cart`). */
export const CART_LINE_FORMS = {
  quantity: (variantId: number) => `/cart/items/${variantId}`,
  remove: (variantId: number) => `/cart/items/${variantId}/remove`,
} as const;

export interface CartEditor {
  cart: CartView | undefined;
  /** The line whose change is in flight. */
  pending: number | undefined;
  /** The line changed last (its stepper keeps the keyboard focus). */
  lastChanged: number | undefined;
  /** What the polite live region says after a change. */
  announcement: string;
  error: string | undefined;
  /** Puts `text` in the live region. */
  say(text: string): void;
  change(line: CartLineView, quantity: number): void;
  remove(line: CartLineView): void;
}

/**
 * The cart an island shows and edits: follows cart changes made elsewhere on the page, sends
 * one change at a time, and tells the other islands about each result.
 */
export function useCartEditor(
  initial: CartView | undefined,
  options: { onRemoved?: () => void } = {},
): CartEditor {
  const [cart, setCart] = useState(initial);
  const [pending, setPending] = useState<number | undefined>(undefined);
  const [lastChanged, setLastChanged] = useState<number | undefined>(undefined);
  const [announcement, setAnnouncement] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    function follow(event: Event) {
      const change = (event as CustomEvent<CartChange | undefined>).detail;
      if (change?.cart) setCart(change.cart);
    }
    addEventListener(CART_CHANGED_EVENT, follow);
    return () => removeEventListener(CART_CHANGED_EVENT, follow);
  }, []);

  async function run(
    line: CartLineView,
    request: () => Promise<CartResult>,
    describe: (cart: CartView) => string,
  ): Promise<boolean> {
    if (pending !== undefined) return false;
    setPending(line.variantId);
    setError(undefined);
    const result = await request();
    setPending(undefined);
    if (!result.ok) {
      setError(result.message);
      return false;
    }
    setLastChanged(line.variantId);
    const total = formatMoney(result.cart.subtotalMinor, result.cart.currency);
    setAnnouncement(
      `${describe(result.cart)} Cart: ${itemCountLabel(result.cart.itemCount)}, ${total}.`,
    );
    announceCartChange({ cart: result.cart });
    return true;
  }

  return {
    cart,
    pending,
    lastChanged,
    announcement,
    error,
    say: setAnnouncement,
    change: (line, quantity) =>
      run(
        line,
        () => setLineQuantity(line.variantId, quantity),
        () => `${line.productName}, quantity ${quantity}.`,
      ),
    remove: async (line) => {
      const removed = await run(
        line,
        () => removeLine(line.variantId),
        () => `Removed ${line.productName}.`,
      );
      if (removed) options.onRemoved?.();
    },
  };
}

export interface CartLinesProps {
  cart: CartView;
  maxQuantity: number;
  /** Keeps ids unique when the drawer and the cart page are on one page. */
  idPrefix: string;
  editor?: CartEditor;
  compact?: boolean;
}

export function CartLines(props: CartLinesProps): VNode {
  const warnings = new Map(props.cart.warnings.map((w) => [w.variantId, w.message]));
  return (
    <ul class={props.compact ? "lines lines-compact" : "lines"} data-testid="cart-lines">
      {props.cart.lines.map((line) => (
        <CartLine
          key={line.variantId}
          {...props}
          line={line}
          warning={warnings.get(line.variantId)}
        />
      ))}
    </ul>
  );
}

function CartLine(
  props: CartLinesProps & { line: CartLineView; warning?: string },
): VNode {
  const { line, editor } = props;
  const busy = editor?.pending === line.variantId;
  const size = props.compact ? 80 : 112;
  return (
    <li class="line" data-variant-id={line.variantId} aria-busy={busy ? "true" : undefined}>
      <img
        class="line-media"
        src={line.imageUrl}
        alt=""
        width={size}
        height={size}
        loading="lazy"
        decoding="async"
      />
      <div class="line-info">
        <a class="line-name" href={`/p/${line.slug}`}>{line.productName}</a>
        <p class="line-variant">{line.variantName}</p>
        <p class="line-price">
          {formatMoney(line.priceMinor, line.currency)}
          {line.quantity > 1 && <span class="muted">each</span>}
        </p>
        {props.warning && <p class="line-warning">{props.warning}</p>}
        <div class="line-controls">
          <QuantityStepper {...props} busy={busy} />
          <form
            method="post"
            action={CART_LINE_FORMS.remove(line.variantId)}
            onSubmit={editor && ((event) => {
              event.preventDefault();
              editor.remove(line);
            })}
          >
            <button
              type="submit"
              class="link-button"
              aria-label={`Remove ${line.productName}, ${line.variantName}`}
              data-testid="remove-line"
            >
              Remove
            </button>
          </form>
        </div>
      </div>
      <p class="line-total" data-testid="line-total">
        <span class="visually-hidden">Line total:</span>
        {formatMoney(line.lineTotalMinor, line.currency)}
      </p>
    </li>
  );
}

/**
 * − [quantity] +: three small forms side by side. The buttons post the quantity one lower or
 * higher; the field posts what was typed (Enter, or its visually hidden Update button).
 */
function QuantityStepper(
  props: CartLinesProps & { line: CartLineView; busy: boolean },
): VNode {
  const { line, editor, busy } = props;
  const { quantity } = line;
  const name = `${line.productName}, ${line.variantName}`;
  const fieldId = `${props.idPrefix}-quantity-${line.variantId}`;
  const most = Math.min(props.maxQuantity, Math.max(line.available, quantity));
  const field = useRef<HTMLInputElement>(null);
  // A button that reached its bound is disabled under the keyboard: the field takes the focus.
  useEffect(() => {
    if (editor?.lastChanged !== line.variantId) return;
    const focused = document.activeElement as HTMLButtonElement | null;
    if (!focused || focused === document.body || focused.disabled) field.current?.focus();
  }, [quantity]);
  const submit = (next: number) =>
    editor && ((event: Event) => {
      event.preventDefault();
      if (next >= 1 && next <= props.maxQuantity && next !== quantity) editor.change(line, next);
    });
  return (
    <div class="stepper" role="group" aria-label={`Quantity of ${name}`}>
      <form
        method="post"
        action={CART_LINE_FORMS.quantity(line.variantId)}
        onSubmit={submit(quantity - 1)}
      >
        <input type="hidden" name="quantity" value={String(quantity - 1)} />
        <button
          type="submit"
          class="stepper-button"
          disabled={quantity <= 1}
          aria-label={`One fewer ${name}`}
          data-testid="decrease"
        >
          <MinusIcon />
        </button>
      </form>
      <form
        method="post"
        action={CART_LINE_FORMS.quantity(line.variantId)}
        onSubmit={editor && ((event) => {
          event.preventDefault();
          const field = (event.currentTarget as HTMLFormElement).elements
            .namedItem("quantity") as HTMLInputElement;
          const next = Number(field.value);
          if (Number.isInteger(next) && next >= 1 && next <= props.maxQuantity) {
            if (next !== quantity) editor.change(line, next);
          } else {
            field.value = String(quantity);
          }
        })}
      >
        <label class="visually-hidden" for={fieldId}>Quantity of {name}</label>
        <input
          ref={field}
          id={fieldId}
          class="stepper-field"
          type="number"
          name="quantity"
          value={quantity}
          min={1}
          max={props.maxQuantity}
          inputMode="numeric"
          required
          readOnly={busy}
          data-testid="quantity"
          onChange={editor &&
            ((event) => (event.currentTarget as HTMLInputElement).form?.requestSubmit())}
        />
        <button type="submit" class="visually-hidden focusable">Update</button>
      </form>
      <form
        method="post"
        action={CART_LINE_FORMS.quantity(line.variantId)}
        onSubmit={submit(quantity + 1)}
      >
        <input type="hidden" name="quantity" value={String(quantity + 1)} />
        <button
          type="submit"
          class="stepper-button"
          disabled={quantity >= most}
          aria-label={`One more ${name}`}
          data-testid="increase"
        >
          <PlusIcon />
        </button>
      </form>
    </div>
  );
}
