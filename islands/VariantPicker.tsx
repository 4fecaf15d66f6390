import { useState } from "preact/hooks";
import { ADD_TO_CART_FORM } from "./add_to_cart.ts";
import { addToCart, announceCartChange } from "./cart_client.ts";
import { formatMoney, stockLabel } from "./format.ts";
import { choiceQuery, type PickerVariant, productOptions, variantWith } from "./variant_options.ts";

export interface VariantPickerProps {
  /** The product page's path, `/p/<slug>`: option links point at it. */
  path: string;
  variants: PickerVariant[];
  /** The variant the server rendered (the URL's choice, or the default). */
  selectedId: number;
}

/**
 * One picker per option (Color, Size) and the add-to-cart form. Every option value is a link to
 * the page with that choice, so it works without JavaScript; hydrated, a click swaps the price,
 * stock and form in place, announces them, and keeps the URL in step for sharing. The form posts
 * to the cart page without JavaScript; hydrated, it adds through the cart API and the cart
 * drawer opens.
 */
export default function VariantPicker({ path, variants, selectedId }: VariantPickerProps) {
  const [selectedIdNow, select] = useState(selectedId);
  const [adding, setAdding] = useState(false);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const selected = variants.find((variant) => variant.id === selectedIdNow) ?? variants[0];
  if (!selected) return <p class="stock out">Currently unavailable</p>;
  const options = productOptions(variants);
  const inStock = selected.available > 0;
  const { fields } = ADD_TO_CART_FORM;

  function choose(event: MouseEvent, variant: PickerVariant, href: string) {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || event.button !== 0) {
      return; // a new tab or window: let the link do it
    }
    event.preventDefault();
    select(variant.id);
    history.replaceState(history.state, "", href);
    setFailure(undefined);
  }

  async function add(event: Event) {
    event.preventDefault();
    if (adding || !selected) return;
    const quantity = Number(
      new FormData(event.currentTarget as HTMLFormElement).get(fields.quantity),
    );
    setAdding(true);
    setFailure(undefined);
    const result = await addToCart(selected.id, quantity);
    setAdding(false);
    if (!result.ok) return setFailure(result.message);
    announceCartChange({ cart: result.cart, open: true, addedVariantId: selected.id });
  }

  return (
    <div class="picker">
      <div class="buy-status" aria-live="polite" aria-atomic="true">
        <p class="price" data-testid="price">
          {formatMoney(selected.priceMinor, selected.currency)}
        </p>
        <p class={inStock ? "stock in" : "stock out"} data-testid="stock">
          {stockLabel(selected.available)}
        </p>
      </div>
      {options.map((option) => (
        <div class="option" role="group" aria-labelledby={`option-${option.key}`} key={option.key}>
          <p class="option-name" id={`option-${option.key}`}>
            {option.name}: <span class="option-value">{selected.options[option.name]}</span>
          </p>
          <ul class="option-values">
            {option.values.map(({ label, value }) => {
              const target = variantWith(variants, selected, option.name, label)!;
              const href = `${path}?${choiceQuery(target, options)}`;
              const current = selected.options[option.name] === label;
              return (
                <li key={value}>
                  <a
                    class={`option-link${target.available > 0 ? "" : " sold-out"}`}
                    href={href}
                    aria-current={current ? "true" : undefined}
                    onClick={(event) => choose(event, target, href)}
                    data-testid={`option-${option.key}-${value}`}
                  >
                    {option.key === "color" && <span class={`swatch swatch-${value}`} />}
                    {label}
                    {target.available > 0 ? "" : <span class="visually-hidden">(sold out)</span>}
                  </a>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
      <form
        class="add-to-cart"
        method={ADD_TO_CART_FORM.method}
        action={ADD_TO_CART_FORM.action}
        data-testid="add-to-cart"
        onSubmit={add}
      >
        <input type="hidden" name={fields.variantId} value={String(selected.id)} />
        <label class="quantity">
          <span>Quantity</span>
          <input
            type="number"
            name={fields.quantity}
            value="1"
            min={1}
            max={Math.max(1, Math.min(ADD_TO_CART_FORM.maxQuantity, selected.available))}
            inputMode="numeric"
            required
            disabled={!inStock}
          />
        </label>
        {/* Not disabled while adding: the focus stays here, and the drawer gives it back. */}
        <button
          type="submit"
          class="button button-primary"
          disabled={!inStock}
          aria-disabled={adding ? "true" : undefined}
        >
          {inStock ? "Add to cart" : "Sold out"}
        </button>
        {failure && <p class="field-error add-error" role="alert">{failure}</p>}
      </form>
    </div>
  );
}
