/**
 * The shop's line icons (24×24, stroke in `currentColor`), shared by the server-rendered layout
 * and the islands. Decorative: the control that holds one carries the text.
 */
import type { VNode } from "preact";

function Icon(props: { children: VNode | VNode[] }): VNode {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="24"
      height="24"
      aria-hidden="true"
      focusable="false"
      fill="none"
      stroke="currentColor"
      stroke-width="1.6"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      {props.children}
    </svg>
  );
}

export function SearchIcon(): VNode {
  return (
    <Icon>
      <circle cx="10.5" cy="10.5" r="6.5" />
      <path d="m20 20-4.8-4.8" />
    </Icon>
  );
}

export function AccountIcon(): VNode {
  return (
    <Icon>
      <circle cx="12" cy="8" r="4" />
      <path d="M4 21c1.2-4 4.3-6 8-6s6.8 2 8 6" />
    </Icon>
  );
}

export function BagIcon(): VNode {
  return (
    <Icon>
      <path d="M5 8h14l-1.2 12.2a1 1 0 0 1-1 .8H7.2a1 1 0 0 1-1-.8z" />
      <path d="M9 8V6.5a3 3 0 0 1 6 0V8" />
    </Icon>
  );
}

export function MenuIcon(): VNode {
  return (
    <Icon>
      <path d="M4 7h16M4 12h16M4 17h16" />
    </Icon>
  );
}

export function CloseIcon(): VNode {
  return (
    <Icon>
      <path d="M6 6l12 12M18 6 6 18" />
    </Icon>
  );
}

export function MinusIcon(): VNode {
  return (
    <Icon>
      <path d="M6 12h12" />
    </Icon>
  );
}

export function PlusIcon(): VNode {
  return (
    <Icon>
      <path d="M6 12h12M12 6v12" />
    </Icon>
  );
}

export function CheckIcon(): VNode {
  return (
    <Icon>
      <path d="m5 12.5 4.5 4.5L19 7.5" />
    </Icon>
  );
}

export function LockIcon(): VNode {
  return (
    <Icon>
      <rect x="5" y="10.5" width="14" height="10" rx="2" />
      <path d="M8.5 10.5V7.5a3.5 3.5 0 0 1 7 0v3" />
    </Icon>
  );
}
