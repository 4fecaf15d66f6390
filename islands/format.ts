/**
 * Display formatting shared by islands (in the browser) and server-rendered pages, so a price
 * reads the same before and after hydration. Not a component: islands/build.ts bundles only
 * PascalCase files.
 */

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** Formats integer minor units for display, reusing one formatter per currency. */
export function formatMoney(minor: number, currency: string): string {
  let format = moneyFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat("en-US", { style: "currency", currency });
    moneyFormats.set(currency, format);
  }
  return format.format(minor / 100);
}

/** What a shopper reads about a variant's stock. */
export function stockLabel(available: number): string {
  if (available <= 0) return "Out of stock";
  if (available <= 5) return `Only ${available} left`;
  return "In stock";
}
