import type { VNode } from "preact";
import type { ProductSummary } from "../../db/catalog.ts";
import { IMAGE_SIZE, Layout, ProductGrid } from "../ui/pages.tsx";
import type { Department } from "../ui/navigation.ts";

export function HomePage(
  props: { featured: ProductSummary[]; departments: Department[] },
): VNode {
  const [hero] = props.featured;
  const [first, second] = props.departments;
  return (
    <Layout
      title="Well-made goods, delivered fast"
      description="Outdoor, kitchen, home and more: well-made goods, delivered fast."
      departments={props.departments}
    >
      <section class="hero">
        <div class="hero-text">
          <p class="eyebrow">New season</p>
          <h1>Well-made goods, delivered fast.</h1>
          <p class="lede">
            {props.departments.length}{" "}
            departments of things built to last, from tents and trail boots to skillets, lamps and
            linen.
          </p>
          <p class="actions">
            {first && (
              <a class="button button-primary" href={`/c/${first.slug}`}>Shop {first.name}</a>
            )}
            {second && (
              <a class="button button-secondary" href={`/c/${second.slug}`}>
                Shop {second.name}
              </a>
            )}
          </p>
        </div>
        {hero && (
          <a class="hero-media" href={`/p/${hero.slug}`}>
            <img
              src={hero.imageUrl.replace(/-0\.svg$/, "-3.svg")}
              alt={hero.name}
              width={IMAGE_SIZE}
              height={IMAGE_SIZE}
              fetchpriority="high"
            />
          </a>
        )}
      </section>
      <section class="section" aria-labelledby="featured-heading">
        <h2 id="featured-heading">Featured products</h2>
        <ProductGrid products={props.featured} />
      </section>
      <section class="section" id="departments" aria-labelledby="departments-heading">
        <h2 id="departments-heading">Shop by department</h2>
        <ul class="departments">
          {props.departments.map((department) => (
            <li class="department" key={department.slug}>
              <h3>
                <a href={`/c/${department.slug}`}>{department.name}</a>
              </h3>
              <ul class="chips">
                {department.categories.map((category) => (
                  <li key={category.slug}>
                    <a class="chip" href={`/c/${category.slug}`}>{category.name}</a>
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      </section>
    </Layout>
  );
}
