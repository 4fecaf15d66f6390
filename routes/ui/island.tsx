import type { VNode } from "preact";

/**
 * Server-renders an island and marks it for hydration: the browser bundle for `name`
 * (built by `deno task build` into static/build/) finds the marker and hydrates it with the
 * same props, read back from the serialized attribute.
 */
export function Island(props: { name: string; children: VNode }): VNode {
  const islandProps = (props.children as VNode<Record<string, unknown>>).props;
  return (
    <>
      <div data-island={props.name} data-props={JSON.stringify(islandProps)}>
        {props.children}
      </div>
      <script type="module" src={`/static/build/${props.name}.js`} />
    </>
  );
}
