/**
 * Option choice for the product page, shared by the server rendering and the VariantPicker
 * island so that a link, a URL and a click all pick the same variant: one picker per option
 * (Color, Size), the choice in the URL as `?color=navy&size=m`.
 */

export interface PickerVariant {
  id: number;
  /** Option values, e.g. {"Color":"Navy","Size":"M"}. */
  options: Record<string, string>;
  priceMinor: number;
  currency: string;
  available: number;
}

export interface ProductOption {
  /** As shoppers read it: "Color". */
  name: string;
  /** As the URL carries it: "color". */
  key: string;
  values: { label: string; value: string }[];
}

/** "Navy Blue" → "navy-blue": how option names and values appear in URLs. */
export function urlToken(text: string): string {
  return text.toLowerCase().replace(/&/g, "and").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/** The options of a product, in the order its variants first use them. */
export function productOptions(variants: readonly PickerVariant[]): ProductOption[] {
  const options = new Map<string, ProductOption>();
  for (const variant of variants) {
    for (const [name, label] of Object.entries(variant.options)) {
      let option = options.get(name);
      if (!option) {
        option = { name, key: urlToken(name), values: [] };
        options.set(name, option);
      }
      if (!option.values.some((known) => known.label === label)) {
        option.values.push({ label, value: urlToken(label) });
      }
    }
  }
  return [...options.values()];
}

/** What a product page shows before any choice: the first variant in stock, else the first. */
export function defaultVariant<V extends PickerVariant>(variants: readonly V[]): V | undefined {
  return variants.find((variant) => variant.available > 0) ?? variants[0];
}

/** The URL query that selects `variant`: `color=navy&size=m`. */
export function choiceQuery(variant: PickerVariant, options: readonly ProductOption[]): string {
  return options
    .filter((option) => variant.options[option.name] !== undefined)
    .map((option) => `${option.key}=${urlToken(variant.options[option.name])}`)
    .join("&");
}

/** Picks the best of `candidates` by `score`, then in stock, then catalogue order. */
function best<V extends PickerVariant>(
  candidates: readonly V[],
  score: (variant: V) => number,
): V | undefined {
  let chosen: V | undefined;
  let chosenRank = -1;
  for (const variant of candidates) {
    const rank = score(variant) * 2 + (variant.available > 0 ? 1 : 0);
    if (rank > chosenRank) [chosen, chosenRank] = [variant, rank];
  }
  return chosen;
}

/**
 * The variant a URL's choice parameters select: the one matching most of them (in stock
 * preferred); the default variant when none of the parameters names an option value.
 */
export function resolveVariant<V extends PickerVariant>(
  variants: readonly V[],
  params: Readonly<Record<string, string>>,
): V | undefined {
  const options = productOptions(variants);
  const wanted = options.filter((option) => params[option.key] !== undefined);
  const matches = (variant: V) =>
    wanted.filter((option) => urlToken(variant.options[option.name] ?? "") === params[option.key])
      .length;
  const chosen = best(variants, matches);
  return chosen && matches(chosen) > 0 ? chosen : defaultVariant(variants);
}

/**
 * The variant a shopper gets by choosing `label` for `option` while `current` is selected: it
 * has that value and keeps as many of the other choices as it can.
 */
export function variantWith<V extends PickerVariant>(
  variants: readonly V[],
  current: V,
  option: string,
  label: string,
): V | undefined {
  const others = Object.keys(current.options).filter((name) => name !== option);
  return best(
    variants.filter((variant) => variant.options[option] === label),
    (variant) => others.filter((name) => variant.options[name] === current.options[name]).length,
  );
}

const CHOICE_KEY = /^[a-z][a-z0-9-]{0,30}$/;
const CHOICE_VALUE = /^[a-z0-9-]{1,40}$/;

/**
 * The query parameters that may name option values (`color=navy`); anything else is ignored.
 * `undefined` when there are none, so the plain product URL stays the plain product page.
 */
export function choiceParameters(
  query: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  let choice: Record<string, string> | undefined;
  let count = 0;
  for (const [key, value] of Object.entries(query)) {
    if (!CHOICE_KEY.test(key) || !CHOICE_VALUE.test(value) || ++count > 6) continue;
    (choice ??= {})[key] = value;
  }
  return choice;
}
