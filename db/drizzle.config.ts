// drizzle-kit configuration: `deno task db:generate` turns db/schema.ts into SQL under db/migrations/.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "turso",
  schema: "./db/schema.ts",
  out: "./db/migrations",
});
