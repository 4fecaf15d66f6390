/** The messages an order sends its shopper (written to the mail sink by the outbox worker). */
import type { MailMessage } from "../../db/outbox.ts";
import type { OrderDetail } from "../../db/orders.ts";
import { formatMoney } from "../../islands/format.ts";

/** What an `order_mail` outbox row asks for: the confirmation or a status change. */
export type OrderMailKind = "confirmation" | "paid" | "shipped" | "delivered" | "cancelled";

const SUBJECTS: Record<OrderMailKind, (ref: string) => string> = {
  confirmation: (ref) => `Thank you! Order ${ref} is confirmed`,
  paid: (ref) => `Payment received for order ${ref}`,
  shipped: (ref) => `Order ${ref} is on its way`,
  delivered: (ref) => `Order ${ref} was delivered`,
  cancelled: (ref) => `Order ${ref} was cancelled`,
};

/** The short reference shoppers see for an order. */
export function orderReference(orderId: string): string {
  return orderId.slice(0, 8).toUpperCase();
}

/** The mail for `kind` about `order`, with the signed link to its page. */
export function orderMail(order: OrderDetail, kind: OrderMailKind, link: string): MailMessage {
  const money = (minor: number) => formatMoney(minor, order.currency);
  const lines = order.items.map((item) =>
    `  ${item.quantity} × ${item.name} (${item.variantName})  ${money(item.lineTotalMinor)}`
  );
  const body = [
    SUBJECTS[kind](orderReference(order.id)) + ".",
    "",
    ...lines,
    "",
    `Subtotal: ${money(order.subtotalMinor)}`,
    `Shipping: ${money(order.shippingMinor)}`,
    `Total:    ${money(order.totalMinor)}`,
    "",
    `See your order at any time: ${link}`,
  ].join("\n");
  return {
    dedupeKey: `order_${kind}:${order.id}`,
    recipient: order.email,
    subject: SUBJECTS[kind](orderReference(order.id)),
    body,
  };
}

/** True for the kinds `orderMail` knows. */
export function isOrderMailKind(kind: unknown): kind is OrderMailKind {
  return typeof kind === "string" && kind in SUBJECTS;
}
