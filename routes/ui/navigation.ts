import type { CategorySummary } from "../../db/catalog.ts";

/** A department and its categories, as the header menu and the footer show them. */
export interface Department {
  slug: string;
  name: string;
  categories: { slug: string; name: string }[];
}

/** Groups categories under their departments (categories without a department are left out). */
export function toDepartments(categories: readonly CategorySummary[]): Department[] {
  const byId = new Map<number, Department>();
  for (const category of categories) {
    if (category.parentId === null) {
      byId.set(category.id, { slug: category.slug, name: category.name, categories: [] });
    }
  }
  for (const category of categories) {
    if (category.parentId === null) continue;
    byId.get(category.parentId)?.categories.push({ slug: category.slug, name: category.name });
  }
  return [...byId.values()].filter((department) => department.categories.length > 0);
}
