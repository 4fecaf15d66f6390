/** The frame of the signed-in account pages: breadcrumbs, heading and the account's tabs. */
import type { ComponentChildren, VNode } from "preact";
import type { Department } from "../ui/navigation.ts";
import { Breadcrumbs, Layout } from "../ui/pages.tsx";

export type AccountTab = "overview" | "orders";

const TABS: { tab: AccountTab; href: string; label: string }[] = [
  { tab: "overview", href: "/account", label: "Overview" },
  { tab: "orders", href: "/account/orders", label: "Orders" },
];

export function AccountShell(
  props: {
    tab: AccountTab;
    title: string;
    heading: string;
    departments?: Department[];
    children: ComponentChildren;
  },
): VNode {
  const current = TABS.find((tab) => tab.tab === props.tab)!;
  return (
    <Layout title={props.title} departments={props.departments}>
      <div class="account-page">
        <Breadcrumbs
          trail={props.tab === "overview"
            ? [{ href: "/", label: "Home" }, { label: "Account" }]
            : [{ href: "/", label: "Home" }, { href: "/account", label: "Account" }, {
              label: current.label,
            }]}
        />
        <h1>{props.heading}</h1>
        <nav class="account-tabs" aria-label="Account">
          <ul>
            {TABS.map((tab) => (
              <li key={tab.tab}>
                <a href={tab.href} aria-current={tab.tab === props.tab ? "page" : undefined}>
                  {tab.label}
                </a>
              </li>
            ))}
          </ul>
          <form method="post" action="/api/auth/logout">
            <button type="submit" class="button button-tertiary" data-testid="sign-out">
              Sign out
            </button>
          </form>
        </nav>
        {props.children}
      </div>
    </Layout>
  );
}
