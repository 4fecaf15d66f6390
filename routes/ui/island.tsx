import type { VNode } from "preact";

/**
 * Server-renders an island and marks it for hydration: the island bundle (every island, built
 * by `deno task build` and loaded once by the layout) finds the marker and hydrates it with
 * the same props, read back from the serialized attribute.
 */
export function Island(props: { name: string; children: VNode; class?: string }): VNode {
  const islandProps = (props.children as VNode<Record<string, unknown>>).props;
  return (
    <div class={props.class} data-island={props.name} data-props={JSON.stringify(islandProps)}>
      {props.children}
    </div>
  );
}
