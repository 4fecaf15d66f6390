import { useEffect, useRef, useState } from "preact/hooks";
import { checkoutBody, fieldForPath, fieldMessage, IDEMPOTENCY_FIELD } from "./checkout_form.ts";
import { LockIcon } from "./icons.tsx";

export interface CheckoutButtonProps {
  label: string;
}

type Outcome =
  | { ok: true; next: string }
  | { ok: false; message: string; field?: string; cart?: boolean; newKey?: boolean };

const UNSURE =
  "We couldn't hear back from the shop, so your order may or may not be placed. Press Place " +
  "order again: the same order is never placed twice.";

/**
 * The checkout form's Place order button. Without JavaScript the form posts to `/checkout`
 * (idempotent through its hidden key). Hydrated, it sends the form to `POST /api/checkout` with
 * an `Idempotency-Key` taken once per checkout attempt (the form's key, or a fresh one) and kept
 * across retries, so a retry after a lost answer returns the same order; it is disabled while
 * the request is pending, and a refusal is shown at the field it names.
 */
export default function CheckoutButton({ label }: CheckoutButtonProps) {
  const button = useRef<HTMLButtonElement>(null);
  const [pending, setPending] = useState(false);
  const [failure, setFailure] = useState<Extract<Outcome, { ok: false }> | undefined>();

  // A refusal that names no field: the keyboard goes back to the button, ready to retry.
  useEffect(() => {
    if (failure && !failure.field) button.current?.focus();
  }, [failure]);

  useEffect(() => {
    const form = button.current?.form;
    if (!form) return;
    let key: string | undefined;
    let busy = false;
    async function submit(event: SubmitEvent) {
      event.preventDefault();
      if (busy || !form) return;
      busy = true;
      setPending(true);
      setFailure(undefined);
      showFieldError(form, undefined);
      key ??= formKey(form);
      const outcome = await placeOrder(form, key);
      if (outcome.ok) return location.assign(outcome.next);
      busy = false;
      setPending(false);
      if (outcome.newKey) key = undefined;
      setFailure(outcome);
      showFieldError(form, outcome);
    }
    form.addEventListener("submit", submit);
    return () => form.removeEventListener("submit", submit);
  }, []);

  return (
    <>
      {failure && (
        <p class="alert" role="alert" data-testid="checkout-error">
          {failure.message} {failure.cart && <a href="/cart">Review your cart</a>}
        </p>
      )}
      <button
        ref={button}
        type="submit"
        class="button button-primary button-block place-order"
        disabled={pending}
        data-testid="place-order"
      >
        <LockIcon />
        {pending ? "Placing your order…" : label}
      </button>
    </>
  );
}

function formKey(form: HTMLFormElement): string {
  const field = form.elements.namedItem(IDEMPOTENCY_FIELD) as HTMLInputElement | null;
  return field?.value || crypto.randomUUID();
}

async function placeOrder(form: HTMLFormElement, key: string): Promise<Outcome> {
  const values: Record<string, string> = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string") values[name] = value;
  }
  let response: Response;
  try {
    response = await fetch("/api/checkout", {
      method: "POST",
      headers: {
        accept: "application/json",
        "content-type": "application/json",
        "Idempotency-Key": key,
      },
      body: JSON.stringify(checkoutBody(values)),
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, message: UNSURE };
  }
  const answer = await response.json().catch(() => undefined);
  if (response.ok && typeof answer?.links?.page === "string") {
    return { ok: true, next: `${answer.links.page}&placed=1` };
  }
  const error = answer?.error;
  if (response.status >= 500 || typeof error?.message !== "string") {
    return { ok: false, message: UNSURE };
  }
  const field = fieldForPath(error.field);
  return {
    ok: false,
    message: field ? fieldMessage(field.path, error.message) : error.message,
    field: field?.name,
    cart: error.field === "cart",
    newKey: error.code === "idempotency_key_reused",
  };
}

/** Marks the field an error names (and only it), shows the message under it, focuses it. */
function showFieldError(
  form: HTMLFormElement,
  failure: { field?: string; message: string } | undefined,
) {
  for (const element of form.querySelectorAll<HTMLElement>("[aria-invalid]")) {
    element.removeAttribute("aria-invalid");
  }
  for (const slot of form.querySelectorAll<HTMLElement>("[data-error-for]")) {
    const mine = slot.dataset.errorFor === failure?.field;
    slot.textContent = mine ? failure!.message : "";
    slot.hidden = !mine;
  }
  const field = failure?.field && form.elements.namedItem(failure.field);
  if (field instanceof HTMLElement) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}
