/**
 * The checkout form's contract, shared by the server (routes/checkout/pages.tsx renders the form
 * and reads its post) and the CheckoutButton island (sends the same form to `POST /api/checkout`):
 * the field names, where each lands in the API's body, and the label an error names it by.
 */

export const CHECKOUT_FIELDS = [
  { name: "email", path: "email", label: "Email" },
  { name: "name", path: "shippingAddress.name", label: "Full name" },
  { name: "line1", path: "shippingAddress.line1", label: "Address" },
  { name: "line2", path: "shippingAddress.line2", label: "Apartment, suite, etc." },
  { name: "city", path: "shippingAddress.city", label: "City" },
  { name: "region", path: "shippingAddress.region", label: "State or region" },
  { name: "postal_code", path: "shippingAddress.postalCode", label: "Postal code" },
  { name: "country", path: "shippingAddress.country", label: "Country" },
  { name: "phone", path: "shippingAddress.phone", label: "Phone" },
  { name: "shipping_option", path: "shippingOption", label: "Shipping method" },
  { name: "payment_method", path: "paymentMethod", label: "Payment" },
] as const;

export type CheckoutFieldName = (typeof CHECKOUT_FIELDS)[number]["name"];

/** The hidden field with the form's idempotency key, generated when the page renders. */
export const IDEMPOTENCY_FIELD = "idempotency_key";

export type CheckoutFormValues = Record<CheckoutFieldName | typeof IDEMPOTENCY_FIELD, string>;

/** The `POST /api/checkout` body for a form's values (empty optional fields left out). */
export function checkoutBody(values: Partial<Record<string, string>>) {
  return {
    email: values.email || undefined,
    shippingAddress: {
      name: values.name ?? "",
      line1: values.line1 ?? "",
      line2: values.line2 ?? "",
      city: values.city ?? "",
      region: values.region ?? "",
      postalCode: values.postal_code ?? "",
      country: values.country ?? "",
      phone: values.phone ?? "",
    },
    shippingOption: values.shipping_option ?? "",
    paymentMethod: values.payment_method || undefined,
  };
}

/** The form field an API error's `field` (`shippingAddress.postalCode`) points at. */
export function fieldForPath(path: string | undefined) {
  return CHECKOUT_FIELDS.find((field) => field.path === path);
}

/**
 * A validation message as the shopper reads it: "Postal code must be …." for the API's
 * "shippingAddress.postalCode must be …".
 */
export function fieldMessage(path: string, message: string): string {
  const field = fieldForPath(path);
  const rest = message.startsWith(`${path} `) ? message.slice(path.length + 1) : message;
  return `${field?.label ?? path} ${rest}`.replace(/\.?$/, ".");
}
