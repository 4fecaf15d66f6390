/**
 * Accounts: lookups by email or id, registration, password-hash upgrades, the seeded admin.
 */
import { eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { type User, users } from "./schema.ts";
import { AppError } from "../edge/platform/errors.ts";

/** The email is already registered. */
export class EmailTakenError extends AppError {
  override name = "EmailTakenError";
  constructor(message: string) {
    super(409, "email_taken", message, { field: "email" });
  }
}

/** Finds a user by normalized email; use the writer right after a registration. */
export async function getUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  return user;
}

/** Finds a user by id. */
export async function getUserById(db: Db, id: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return user;
}

/** Inserts a user; throws `EmailTakenError` when the email exists. */
export async function createUser(
  writer: Db,
  input: { email: string; passwordHash: string; role?: User["role"]; name?: string },
): Promise<User> {
  const now = Date.now();
  const rows = await writer.insert(users).values({
    id: crypto.randomUUID(),
    email: input.email,
    passwordHash: input.passwordHash,
    role: input.role ?? "customer",
    name: input.name ?? "",
    createdAt: now,
    updatedAt: now,
  }).onConflictDoNothing({ target: users.email }).returning();
  if (rows.length === 0) throw new EmailTakenError(`Email "${input.email}" is already registered`);
  return rows[0];
}

/** Replaces a user's password hash (rehash on login after a parameter upgrade). */
export async function updateUserPasswordHash(
  writer: Db,
  id: string,
  passwordHash: string,
): Promise<void> {
  await writer.update(users).set({ passwordHash, updatedAt: Date.now() }).where(eq(users.id, id));
}

/** Sets a user's display name; returns the updated user, or undefined for an unknown id. */
export async function updateUserName(
  writer: Db,
  id: string,
  name: string,
): Promise<User | undefined> {
  const [user] = await writer.update(users).set({ name, updatedAt: Date.now() })
    .where(eq(users.id, id)).returning();
  return user;
}

/** Creates the admin, or resets its password hash and role when the email exists. */
export async function upsertAdminUser(
  writer: Db,
  input: { email: string; passwordHash: string },
): Promise<User> {
  const now = Date.now();
  const [user] = await writer.insert(users).values({
    id: crypto.randomUUID(),
    email: input.email,
    passwordHash: input.passwordHash,
    role: "admin",
    createdAt: now,
    updatedAt: now,
  }).onConflictDoUpdate({
    target: users.email,
    set: { passwordHash: input.passwordHash, role: "admin", updatedAt: now },
  }).returning();
  return user;
}
