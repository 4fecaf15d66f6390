import { useState } from "preact/hooks";
import { formatMoney, stockLabel } from "./format.ts";

export interface VariantOption {
  id: number;
  name: string;
  priceMinor: number;
  currency: string;
  available: number;
}

/** Lets a shopper pick a variant and see its price and stock without a page load. */
export default function VariantPicker({ variants }: { variants: VariantOption[] }) {
  const firstAvailable = variants.findIndex((v) => v.available > 0);
  const [index, setIndex] = useState(firstAvailable === -1 ? 0 : firstAvailable);
  const selected = variants[index];
  if (!selected) return <p class="stock out">Currently unavailable</p>;
  return (
    <div class="variant-picker">
      <p class="price" data-testid="price">{formatMoney(selected.priceMinor, selected.currency)}</p>
      <label>
        Option{" "}
        <select
          name="variant_id"
          value={String(selected.id)}
          onChange={(event) => {
            const id = (event.target as HTMLSelectElement).value;
            setIndex(variants.findIndex((variant) => String(variant.id) === id));
          }}
        >
          {variants.map((variant) => (
            <option key={variant.id} value={String(variant.id)}>
              {variant.name}
              {variant.available <= 0 ? " (sold out)" : ""}
            </option>
          ))}
        </select>
      </label>
      <p class={selected.available > 0 ? "stock in" : "stock out"} data-testid="stock">
        {stockLabel(selected.available)}
      </p>
      <button type="submit" disabled={selected.available <= 0}>Add to cart</button>
    </div>
  );
}
