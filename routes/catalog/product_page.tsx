import type { VNode } from "preact";
import type { ProductDetail } from "../../db/catalog.ts";
import VariantPicker from "../../islands/VariantPicker.tsx";
import { choiceQuery, productOptions } from "../../islands/variant_options.ts";
import { Island } from "../ui/island.tsx";
import { SHOP_NAME } from "../ui/layout.tsx";
import type { Department } from "../ui/navigation.ts";
import { Breadcrumbs, IMAGE_SIZE, Layout } from "../ui/pages.tsx";

export interface ProductPageProps {
  product: ProductDetail;
  /** The variant the URL chose (or the default one). */
  selected: ProductDetail["variants"][number];
  departments: Department[];
}

export function ProductPage(props: ProductPageProps): VNode {
  const { product, selected } = props;
  const path = `/p/${product.slug}`;
  const images = product.images.length > 0
    ? product.images
    : [{ url: product.imageUrl, alt: product.name }];
  const department = props.departments.find((candidate) =>
    candidate.categories.some((category) => category.slug === product.category.slug)
  );
  return (
    <Layout
      title={product.name}
      description={product.description}
      departments={props.departments}
      head={<ProductHead {...props} path={path} images={images} />}
    >
      <Breadcrumbs
        trail={[
          { href: "/", label: "Home" },
          ...(department ? [{ href: `/c/${department.slug}`, label: department.name }] : []),
          { href: `/c/${product.category.slug}`, label: product.category.name },
          { label: product.name },
        ]}
      />
      <article class="product">
        <Gallery images={images} />
        <div class="product-info">
          <p class="eyebrow">{product.brand}</p>
          <h1>{product.name}</h1>
          <Island name="VariantPicker">
            <VariantPicker
              path={path}
              selectedId={selected.id}
              variants={product.variants.map((variant) => ({
                id: variant.id,
                options: variant.options,
                priceMinor: variant.priceMinor,
                currency: variant.currency,
                available: variant.available,
              }))}
            />
          </Island>
          <ul class="assurances">
            <li>
              <strong>Free shipping</strong> on orders over $75; ships within 2 business days.
            </li>
            <li>
              <strong>Free returns</strong> within 30 days, in the original packaging.
            </li>
          </ul>
          <section class="description" aria-labelledby="description-heading">
            <h2 id="description-heading">Description</h2>
            <p>{product.description}</p>
          </section>
        </div>
      </article>
    </Layout>
  );
}

/**
 * Every image in a scroll-snap strip on a phone and a grid on a desktop; the thumbnails are
 * anchors to each image, so it needs no script. The first image loads eagerly (it is the
 * largest thing above the fold), the rest lazily.
 */
function Gallery(props: { images: { url: string; alt: string }[] }): VNode {
  return (
    <div class="gallery">
      {/* Focusable, so the strip scrolls from the keyboard on a phone as well. */}
      <ul class="gallery-strip" tabindex={0} aria-label="Product images">
        {props.images.map((image, index) => (
          <li id={`media-${index + 1}`} key={image.url}>
            <img
              src={image.url}
              alt={image.alt}
              width={IMAGE_SIZE}
              height={IMAGE_SIZE}
              loading={index === 0 ? "eager" : "lazy"}
              fetchpriority={index === 0 ? "high" : undefined}
              decoding={index === 0 ? undefined : "async"}
            />
          </li>
        ))}
      </ul>
      {props.images.length > 1 && (
        <ul class="gallery-thumbs">
          {props.images.map((image, index) => (
            <li key={image.url}>
              <a href={`#media-${index + 1}`}>
                <img
                  src={image.url}
                  alt=""
                  width={72}
                  height={72}
                  loading="lazy"
                  decoding="async"
                />
                <span class="visually-hidden">Image {index + 1} of {props.images.length}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Canonical link, Open Graph tags and schema.org Product structured data. */
function ProductHead(
  props: ProductPageProps & { path: string; images: { url: string; alt: string }[] },
): VNode {
  const { product, selected, path, images } = props;
  const options = productOptions(product.variants);
  const price = (selected.priceMinor / 100).toFixed(2);
  const structured = {
    "@context": "https://schema.org",
    "@type": "Product",
    name: product.name,
    description: product.description,
    sku: selected.sku,
    brand: { "@type": "Brand", name: product.brand },
    category: product.category.name,
    image: images.map((image) => image.url),
    url: path,
    offers: {
      "@type": "Offer",
      url: `${path}?${choiceQuery(selected, options)}`,
      sku: selected.sku,
      price,
      priceCurrency: selected.currency,
      availability: selected.available > 0
        ? "https://schema.org/InStock"
        : "https://schema.org/OutOfStock",
      itemCondition: "https://schema.org/NewCondition",
    },
  };
  // `<` escaped, so no product text can close the script element.
  const json = JSON.stringify(structured).replace(/</g, "\\u003c");
  return (
    <>
      <link rel="canonical" href={path} />
      <meta property="og:type" content="product" />
      <meta property="og:site_name" content={SHOP_NAME} />
      <meta property="og:title" content={product.name} />
      <meta property="og:description" content={product.description} />
      <meta property="og:url" content={path} />
      <meta property="og:image" content={images[0].url} />
      <meta property="og:image:alt" content={images[0].alt} />
      <meta property="product:price:amount" content={price} />
      <meta property="product:price:currency" content={selected.currency} />
      <script type="application/ld+json" dangerouslySetInnerHTML={{ __html: json }} />
    </>
  );
}
