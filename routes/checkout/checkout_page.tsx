/**
 * The checkout page: contact, address, shipping method and payment on the left, the review with
 * the server's totals and Place order on the right (below on a phone). One form that works
 * without JavaScript; the CheckoutButton island sends it to the API when scripts run.
 */
import type { VNode } from "preact";
import type { Cart } from "../../db/carts.ts";
import type { PaymentMethod } from "../../edge/payments/payments.ts";
import type { ShippingOption } from "../../edge/platform/config.ts";
import CheckoutButton from "../../islands/CheckoutButton.tsx";
import {
  type CheckoutFieldName,
  type CheckoutFormValues,
  IDEMPOTENCY_FIELD,
} from "../../islands/checkout_form.ts";
import { formatMoney } from "../../islands/format.ts";
import { Island } from "../ui/island.tsx";
import type { Department } from "../ui/navigation.ts";
import { Layout } from "../ui/pages.tsx";
import { SHIPPING_COUNTRIES } from "./input.ts";

/**
 * What shipping by `option` costs on an order of `subtotalMinor`: its price, or nothing from its
 * free-shipping threshold on. The rule `placeOrder` charges by (db/place_order.ts); the checkout
 * page test places orders to keep the two in step.
 */
export function shippingCostMinor(option: ShippingOption, subtotalMinor: number): number {
  const free = option.freeOverMinor !== undefined && subtotalMinor >= option.freeOverMinor;
  return free ? 0 : option.priceMinor;
}

export interface CheckoutFailure {
  message: string;
  /** The form field at fault, when there is one. */
  field?: CheckoutFieldName;
  /** The cart is the problem (stock, empty, unavailable lines). */
  cart?: boolean;
}

export interface CheckoutPageProps {
  cart: Cart;
  values: CheckoutFormValues;
  shippingOptions: readonly ShippingOption[];
  paymentMethods: readonly PaymentMethod[];
  /** The signed-in account's email, when the cart is an account's. */
  accountEmail?: string;
  failure?: CheckoutFailure;
  departments?: Department[];
}

export function CheckoutPage(props: CheckoutPageProps): VNode {
  const { failure } = props;
  return (
    <Layout title="Checkout" departments={props.departments}>
      <div class="checkout-page">
        <CheckoutSteps />
        <h1>Checkout</h1>
        {failure && (
          <div class="alert error-summary" role="alert" data-testid="checkout-error">
            <p>
              {failure.field
                ? <a href={`#field-${failure.field}`}>{failure.message}</a>
                : failure.message}
            </p>
            {failure.cart && (
              <p>
                <a href="/cart">Review your cart</a>
              </p>
            )}
          </div>
        )}
        <form class="checkout-form" method="post" action="/checkout" data-testid="checkout-form">
          <input type="hidden" name={IDEMPOTENCY_FIELD} value={props.values.idempotency_key} />
          <div class="checkout-main">
            <ContactSection {...props} />
            <AddressSection {...props} />
            <ChoiceSection
              step={3}
              title="Shipping method"
              name="shipping_option"
              checked={props.values.shipping_option}
              choices={props.shippingOptions.map((option) => shippingChoice(option, props.cart))}
            />
            <ChoiceSection
              step={4}
              title="Payment"
              name="payment_method"
              checked={props.values.payment_method}
              choices={props.paymentMethods.map((method) => ({
                id: method.id,
                label: method.label,
                detail: method.description,
              }))}
            />
          </div>
          <Review {...props} />
        </form>
      </div>
    </Layout>
  );
}

function shippingChoice(option: ShippingOption, cart: Cart): Choice {
  const money = (minor: number) => formatMoney(minor, cart.currency);
  const cost = shippingCostMinor(option, cart.subtotalMinor);
  const threshold = option.freeOverMinor;
  let detail: string | undefined;
  if (threshold !== undefined && option.priceMinor > 0) {
    detail = cost === 0
      ? `Free: your order is over ${money(threshold)}`
      : `Free from ${money(threshold)}: add ${money(threshold - cart.subtotalMinor)} more`;
  }
  return {
    id: option.id,
    label: option.label,
    detail,
    price: cost === 0 ? "Free" : money(cost),
  };
}

function CheckoutSteps(): VNode {
  return (
    <ol class="checkout-steps" aria-label="Checkout progress">
      <li class="done">
        <a href="/cart">Cart</a>
      </li>
      <li aria-current="step">Details</li>
      <li>Confirmation</li>
    </ol>
  );
}

function ContactSection(props: CheckoutPageProps): VNode {
  return (
    <fieldset class="checkout-section">
      <legend>
        <span class="step-number" aria-hidden="true">1</span> Contact
      </legend>
      {props.accountEmail
        ? (
          <p class="account-email" data-testid="account-email">
            Ordering as <strong>{props.accountEmail}</strong>
          </p>
        )
        : (
          <>
            <TextField
              {...props}
              name="email"
              label="Email"
              type="email"
              autocomplete="email"
              hint="For the order confirmation and delivery updates."
            />
            <p class="muted">
              Have an account? <a href="/account/login?next=%2Fcheckout">Sign in</a>{" "}
              for a faster checkout and your order history.
            </p>
          </>
        )}
    </fieldset>
  );
}

function AddressSection(props: CheckoutPageProps): VNode {
  const country = props.values.country;
  return (
    <fieldset class="checkout-section">
      <legend>
        <span class="step-number" aria-hidden="true">2</span> Shipping address
      </legend>
      <div class="field-grid">
        <TextField {...props} name="name" label="Full name" autocomplete="name" wide />
        <TextField {...props} name="line1" label="Address" autocomplete="address-line1" wide />
        <TextField
          {...props}
          name="line2"
          label="Apartment, suite, etc."
          autocomplete="address-line2"
          optional
          wide
        />
        <TextField {...props} name="city" label="City" autocomplete="address-level2" />
        <TextField
          {...props}
          name="region"
          label="State or region"
          autocomplete="address-level1"
          optional
        />
        <TextField
          {...props}
          name="postal_code"
          label="Postal code"
          autocomplete="postal-code"
          maxLength={10}
        />
        <div class="field">
          <label for="field-country">Country</label>
          <select id="field-country" name="country" required autocomplete="country">
            {Object.entries(SHIPPING_COUNTRIES).map(([code, name]) => (
              <option key={code} value={code} selected={country === code}>{name}</option>
            ))}
          </select>
        </div>
        <TextField
          {...props}
          name="phone"
          label="Phone"
          type="tel"
          autocomplete="tel"
          optional
          wide
          hint="In case the courier needs to reach you."
        />
      </div>
    </fieldset>
  );
}

function TextField(
  props: CheckoutPageProps & {
    name: CheckoutFieldName;
    label: string;
    type?: "text" | "email" | "tel";
    autocomplete: string;
    optional?: boolean;
    wide?: boolean;
    hint?: string;
    maxLength?: number;
  },
): VNode {
  const id = `field-${props.name}`;
  const error = props.failure?.field === props.name ? props.failure.message : undefined;
  const described = [props.hint && `${id}-hint`, `${id}-error`].filter(Boolean).join(" ");
  return (
    <div class={props.wide ? "field field-wide" : "field"}>
      <label for={id}>
        {props.label}
        {props.optional && <span class="optional">(optional)</span>}
      </label>
      {props.hint && <p class="hint" id={`${id}-hint`}>{props.hint}</p>}
      <input
        id={id}
        name={props.name}
        type={(props.type ?? "text") as "text"}
        value={props.values[props.name]}
        autocomplete={props.autocomplete}
        required={!props.optional}
        maxLength={props.maxLength ?? 200}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described}
      />
      <p class="field-error" id={`${id}-error`} data-error-for={props.name} hidden={!error}>
        {error}
      </p>
    </div>
  );
}

interface Choice {
  id: string;
  label: string;
  detail?: string;
  price?: string;
}

/** A radio group drawn as cards (shipping methods, payment methods). */
function ChoiceSection(
  props: { step: number; title: string; name: string; checked: string; choices: Choice[] },
): VNode {
  return (
    <fieldset class="checkout-section">
      <legend>
        <span class="step-number" aria-hidden="true">{props.step}</span> {props.title}
      </legend>
      <div class={`choices choices-${props.name}`}>
        {props.choices.map((choice) => (
          <label class="choice" key={choice.id}>
            <input
              type="radio"
              name={props.name}
              value={choice.id}
              checked={props.checked === choice.id}
              required
            />
            <span class="choice-text">
              <span class="choice-label">{choice.label}</span>
              {choice.detail && <span class="choice-detail">{choice.detail}</span>}
            </span>
            {choice.price && <span class="choice-price">{choice.price}</span>}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/**
 * The review: the lines, the subtotal, and the shipping and total of every shipping method,
 * computed here on the server. The stylesheet shows the pair of the method that is checked
 * (`:has()`), so the totals follow the choice without a script.
 */
function Review(props: CheckoutPageProps): VNode {
  const { cart } = props;
  const money = (minor: number) => formatMoney(minor, cart.currency);
  return (
    <aside class="checkout-review summary-card" aria-labelledby="review-heading">
      <h2 id="review-heading">Review your order</h2>
      <ul class="review-lines">
        {cart.lines.map((line) => (
          <li key={line.variantId}>
            <span class="review-media">
              <img src={line.imageUrl} alt="" width={64} height={64} loading="lazy" />
              <span class="quantity-badge">
                <span class="visually-hidden">Quantity:</span>
                {line.quantity}
              </span>
            </span>
            <span class="review-name">
              {line.productName}
              <span class="muted">{line.variantName}</span>
            </span>
            <span class="review-price">{money(line.lineTotalMinor)}</span>
          </li>
        ))}
      </ul>
      {cart.warnings.length > 0 && (
        <ul class="review-warnings">
          {cart.warnings.map((warning) => (
            <li key={warning.variantId} class="line-warning">{warning.message}</li>
          ))}
        </ul>
      )}
      <p class="review-edit">
        <a href="/cart">Edit cart</a>
      </p>
      <dl class="totals">
        <div>
          <dt>Subtotal · {cart.itemCount} {cart.itemCount === 1 ? "item" : "items"}</dt>
          <dd>{money(cart.subtotalMinor)}</dd>
        </div>
      </dl>
      <div class="option-totals">
        {props.shippingOptions.map((option) => {
          const cost = shippingCostMinor(option, cart.subtotalMinor);
          return (
            <dl class="totals option-total" key={option.id} data-option={option.id}>
              <div>
                <dt>Shipping · {option.label.replace(/\s*\(.*\)$/, "")}</dt>
                <dd>{cost === 0 ? "Free" : money(cost)}</dd>
              </div>
              <div class="grand-total">
                <dt>Total</dt>
                <dd data-testid="checkout-total">
                  <span class="currency-code">{cart.currency}</span>
                  {money(cart.subtotalMinor + cost)}
                </dd>
              </div>
            </dl>
          );
        })}
      </div>
      <Island name="CheckoutButton" class="place-order-slot">
        <CheckoutButton label="Place order" />
      </Island>
      <p class="fine-print">
        {props.paymentMethods.every((method) => method.id === "pay_on_delivery")
          ? "Nothing is charged now: you pay when your order arrives. "
          : ""}
        Free returns within 30 days.
      </p>
    </aside>
  );
}
