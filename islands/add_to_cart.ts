/**
 * The add-to-cart form contract: the product page's form posts these fields to this action, and
 * the cart's form handler reads the same names. One constant, so both sides change together.
 */
export const ADD_TO_CART_FORM = {
  action: "/cart/items",
  method: "post",
  fields: { variantId: "variant_id", quantity: "quantity" },
  /** Most units of one variant a single add may ask for. */
  maxQuantity: 99,
} as const;
