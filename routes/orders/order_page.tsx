/**
 * How an order reads to its shopper: the confirmation after checkout, the order page with its
 * tracking timeline, and the cards of the order history.
 */
import type { VNode } from "preact";
import type { OrderDetail, OrderStatus, OrderSummary } from "../../db/orders.ts";
import type { PaymentMethod } from "../../edge/payments/payments.ts";
import type { ShippingOption } from "../../edge/platform/config.ts";
import { formatMoney } from "../../islands/format.ts";
import { CheckIcon } from "../../islands/icons.tsx";
import { SHIPPING_COUNTRIES } from "../checkout/input.ts";
import type { Department } from "../ui/navigation.ts";
import { Breadcrumbs, Layout } from "../ui/pages.tsx";
import { orderReference } from "./mail.ts";

/** A product's picture and page, for the items of an order. */
export type Thumbnails = ReadonlyMap<number, { slug: string; imageUrl: string; active: boolean }>;

export const STATUS_LABELS: Record<OrderStatus, string> = {
  pending: "Order placed",
  paid: "Payment received",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
};

/** The short state a status pill shows. */
const STATUS_PILLS: Record<OrderStatus, string> = {
  pending: "Processing",
  paid: "Paid",
  shipped: "On its way",
  delivered: "Delivered",
  cancelled: "Cancelled",
};

const dateFormat = new Intl.DateTimeFormat("en-US", { dateStyle: "medium" });
const timeFormat = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });

export interface TrackingStep {
  status: OrderStatus;
  label: string;
  state: "done" | "current" | "upcoming";
  at?: number;
  note?: string;
}

/**
 * The tracking timeline of an order: placed → (paid, for methods paid up front) → shipped →
 * delivered, each done step with the time of its status entry; a cancelled order ends with the
 * cancellation after the steps it reached.
 */
export function trackingSteps(order: OrderDetail): TrackingStep[] {
  const reached = new Map<OrderStatus, { at: number; note: string }>();
  // History is newest first: walk it oldest first so each status keeps its first entry.
  for (const entry of [...order.history].reverse()) {
    if (!reached.has(entry.status)) {
      reached.set(entry.status, { at: entry.createdAt, note: entry.note });
    }
  }
  if (!reached.has("pending")) reached.set("pending", { at: order.createdAt, note: "" });
  const paidUpFront = order.paymentMethod !== "pay_on_delivery" || reached.has("paid");
  const flow: OrderStatus[] = ["pending", ...(paidUpFront ? ["paid" as const] : []), "shipped"];
  flow.push(order.status === "cancelled" ? "cancelled" : "delivered");
  const statuses = order.status === "cancelled"
    ? flow.filter((status) => reached.has(status))
    : flow;
  const current = statuses.indexOf(order.status) === -1
    ? statuses.findLastIndex((status) => reached.has(status))
    : statuses.indexOf(order.status);
  return statuses.map((status, index) => ({
    status,
    label: STATUS_LABELS[status],
    state: index < current ? "done" : index === current ? "current" : "upcoming",
    at: index <= current ? reached.get(status)?.at : undefined,
    // A note that only repeats the step's name ("Order placed") says nothing more.
    note: index <= current ? noteBeyond(reached.get(status)?.note, status) : undefined,
  }));
}

function noteBeyond(note: string | undefined, status: OrderStatus): string | undefined {
  return note && note.toLowerCase() !== STATUS_LABELS[status].toLowerCase() ? note : undefined;
}

export interface OrderPageProps {
  order: OrderDetail;
  thumbnails: Thumbnails;
  shippingOptions: readonly ShippingOption[];
  paymentMethods: readonly PaymentMethod[];
  /** Just placed: the page opens with the thank-you. */
  placed: boolean;
  /** Read from the account pages (breadcrumbs through the order history). */
  inAccount: boolean;
  /**
   * Who reads it: the account that placed it (offered its order history), another signed-in
   * account, or a guest (offered an account).
   */
  reader: "owner" | "signed-in" | "guest";
  departments?: Department[];
}

export function OrderPage(props: OrderPageProps): VNode {
  const { order } = props;
  const reference = orderReference(order.id);
  return (
    <Layout title={`Order ${reference}`} departments={props.departments}>
      <div class="order-page">
        <Breadcrumbs
          trail={props.inAccount
            ? [
              { href: "/account", label: "Account" },
              { href: "/account/orders", label: "Orders" },
              { label: `Order ${reference}` },
            ]
            : [{ href: "/", label: "Home" }, { label: `Order ${reference}` }]}
        />
        {props.placed ? <Confirmation {...props} /> : (
          <header class="order-head">
            <h1>Order {reference}</h1>
            <StatusPill status={order.status} />
            <p class="muted">Placed {timeFormat.format(order.createdAt)}</p>
          </header>
        )}
        <div class="order-layout">
          <div class="order-main">
            <Tracking {...props} />
            <OrderItems {...props} />
          </div>
          <div class="order-side">
            <OrderTotals {...props} />
            <Delivery {...props} />
          </div>
        </div>
      </div>
    </Layout>
  );
}

function Confirmation(props: OrderPageProps): VNode {
  const { order } = props;
  return (
    <section class="confirmation" aria-labelledby="confirmation-heading">
      <span class="confirmation-icon">
        <CheckIcon />
      </span>
      <p class="eyebrow">Order {orderReference(order.id)}</p>
      <h1 id="confirmation-heading">Thank you! Your order is placed.</h1>
      <p class="lede">
        A confirmation is on its way to{" "}
        <strong>{order.email}</strong>. We'll write again when it ships.
      </p>
      <p class="actions">
        {props.reader === "owner" && (
          <a class="button button-primary" href={`/account/orders/${order.id}`}>
            View in your account
          </a>
        )}
        {props.reader === "guest" && (
          <a class="button button-primary" href="/account/register">Create an account</a>
        )}
        <a class="button button-secondary" href="/">Continue shopping</a>
      </p>
      {props.reader !== "owner" && (
        <p class="muted">
          Keep this page's address: it is your link to this order and its tracking.
        </p>
      )}
    </section>
  );
}

export function StatusPill(props: { status: OrderStatus }): VNode {
  return (
    <span class={`status-pill status-${props.status}`} data-testid="order-status">
      {STATUS_PILLS[props.status]}
    </span>
  );
}

function Tracking(props: OrderPageProps): VNode {
  const steps = trackingSteps(props.order);
  return (
    <section class="panel" id="tracking" aria-labelledby="tracking-heading">
      <h2 id="tracking-heading">Tracking</h2>
      <ol class="timeline" data-testid="timeline">
        {steps.map((step) => (
          <li
            key={step.status}
            class={`timeline-step ${step.state} step-${step.status}`}
            aria-current={step.state === "current" ? "step" : undefined}
          >
            <span class="timeline-dot" aria-hidden="true">
              {step.state !== "upcoming" && <CheckIcon />}
            </span>
            <span class="timeline-text">
              <span class="timeline-label">
                {step.label}
                {step.state === "upcoming" && <span class="visually-hidden">(not yet)</span>}
              </span>
              {step.at !== undefined && (
                <time class="muted" dateTime={new Date(step.at).toISOString()}>
                  {timeFormat.format(step.at)}
                </time>
              )}
              {step.note && <span class="timeline-note">{step.note}</span>}
              {step.state === "upcoming" && (
                <span class="muted">{upcomingNote(step.status, props)}</span>
              )}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function upcomingNote(status: OrderStatus, props: OrderPageProps): string {
  if (status === "paid") return "When the payment is confirmed";
  if (status === "shipped") return "Orders ship within 2 business days";
  const option = props.shippingOptions.find((o) => o.id === props.order.shippingOption);
  const estimate = /\((.*)\)/.exec(option?.label ?? "")?.[1];
  return estimate ? `${estimate} after shipping` : "After shipping";
}

function OrderItems(props: OrderPageProps): VNode {
  const { order } = props;
  const money = (minor: number) => formatMoney(minor, order.currency);
  return (
    <section class="panel" aria-labelledby="items-heading">
      <h2 id="items-heading">Items · {order.itemCount}</h2>
      <ul class="order-items">
        {order.items.map((item) => {
          const product = props.thumbnails.get(item.productId);
          return (
            <li key={item.variantId}>
              {product
                ? (
                  <img
                    src={product.imageUrl}
                    alt=""
                    width={72}
                    height={72}
                    loading="lazy"
                    decoding="async"
                  />
                )
                : <span class="image-placeholder" />}
              <span class="order-item-text">
                {product?.active
                  ? <a href={`/p/${product.slug}`}>{item.name}</a>
                  : <span class="order-item-name">{item.name}</span>}
                <span class="muted">{item.variantName}</span>
                <span class="muted">
                  {item.quantity} × {money(item.unitPriceMinor)}
                </span>
              </span>
              <span class="order-item-total">{money(item.lineTotalMinor)}</span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function OrderTotals(props: OrderPageProps): VNode {
  const { order } = props;
  const money = (minor: number) => formatMoney(minor, order.currency);
  return (
    <section class="summary-card" aria-labelledby="totals-heading">
      <h2 id="totals-heading">Summary</h2>
      <dl class="totals">
        <div>
          <dt>Subtotal</dt>
          <dd>{money(order.subtotalMinor)}</dd>
        </div>
        <div>
          <dt>Shipping</dt>
          <dd>{order.shippingMinor === 0 ? "Free" : money(order.shippingMinor)}</dd>
        </div>
        <div class="grand-total">
          <dt>Total</dt>
          <dd data-testid="order-total">{money(order.totalMinor)}</dd>
        </div>
      </dl>
    </section>
  );
}

function Delivery(props: OrderPageProps): VNode {
  const { order } = props;
  const address = order.shippingAddress;
  const option = props.shippingOptions.find((o) => o.id === order.shippingOption);
  const method = props.paymentMethods.find((m) => m.id === order.paymentMethod);
  return (
    <section class="panel" aria-labelledby="delivery-heading">
      <h2 id="delivery-heading">Delivery</h2>
      <address>
        {address.name}
        <br />
        {address.line1}
        {address.line2 && (
          <>
            <br />
            {address.line2}
          </>
        )}
        <br />
        {address.postalCode} {address.city}
        {address.region ? `, ${address.region}` : ""}
        <br />
        {SHIPPING_COUNTRIES[address.country] ?? address.country}
      </address>
      <dl class="facts">
        <div>
          <dt>Shipping</dt>
          <dd>{option?.label ?? order.shippingOption}</dd>
        </div>
        <div>
          <dt>Payment</dt>
          <dd>
            {method?.label ?? order.paymentMethod}
            {order.paidAt !== null && ` · paid ${dateFormat.format(order.paidAt)}`}
          </dd>
        </div>
        <div>
          <dt>Email</dt>
          <dd>{order.email}</dd>
        </div>
      </dl>
    </section>
  );
}

/** One order in the history: reference, state, date, total and the first items' pictures. */
export function OrderCard(
  props: { order: OrderSummary; thumbnails: Thumbnails; heading: "h2" | "h3" },
): VNode {
  const { order } = props;
  const Heading = props.heading;
  const reference = orderReference(order.id);
  const pictures = order.items.slice(0, 4);
  return (
    <li class="order-card" data-testid="order-card">
      <div class="order-card-head">
        <Heading class="order-card-title">
          <a href={`/account/orders/${order.id}`}>Order {reference}</a>
        </Heading>
        <StatusPill status={order.status} />
      </div>
      <p class="muted">
        {dateFormat.format(order.createdAt)} · {order.itemCount}{" "}
        {order.itemCount === 1 ? "item" : "items"} ·{" "}
        <strong class="order-card-total">{formatMoney(order.totalMinor, order.currency)}</strong>
      </p>
      <ul class="order-thumbs" aria-label={`Items in order ${reference}`}>
        {pictures.map((item) => {
          const product = props.thumbnails.get(item.productId);
          return (
            <li key={item.variantId}>
              {product
                ? (
                  <img
                    src={product.imageUrl}
                    alt={`${item.name}, ${item.variantName}`}
                    width={56}
                    height={56}
                    loading="lazy"
                    decoding="async"
                  />
                )
                : <span class="image-placeholder">{item.name}</span>}
            </li>
          );
        })}
        {order.items.length > pictures.length && (
          <li class="more">+{order.items.length - pictures.length}</li>
        )}
      </ul>
      <a class="button button-secondary" href={`/account/orders/${order.id}#tracking`}>
        Track order <span class="visually-hidden">{reference}</span>
      </a>
    </li>
  );
}
