/**
 * Refresh-token rows: one per issued token, grouped in families (one per login).
 *
 * Every function here takes the writer: a replica may lag, and a stale read would let a rotated
 * token pass as fresh.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "./client.ts";
import { refreshTokens, type User, users } from "./schema.ts";
import { AppError } from "../edge/platform/errors.ts";

/** The presented token is unknown, expired or revoked; `reason` is for logs only. */
export class RefreshTokenInvalidError extends AppError {
  override name = "RefreshTokenInvalidError";
  constructor(readonly reason: string) {
    super(401, "invalid_credentials", "Sign in again to continue");
  }
}

/** An already-rotated token was presented again; its whole family has been revoked. */
export class RefreshTokenReusedError extends AppError {
  override name = "RefreshTokenReusedError";
  constructor(readonly reason: string) {
    super(401, "invalid_credentials", "Sign in again to continue");
  }
}

/** Stores the hash of a new token; a new `familyId` starts a new session. */
export async function createRefreshToken(
  writer: Db,
  input: { userId: string; familyId: string; tokenHash: string; expiresAt: number },
): Promise<void> {
  await writer.insert(refreshTokens).values({
    id: crypto.randomUUID(),
    ...input,
    createdAt: Date.now(),
  });
}

/**
 * Marks the token with `tokenHash` rotated and stores its successor `next` in the same family,
 * returning the owner.
 *
 * Two tabs refreshing at once present the same token: within `graceMs` of its rotation, a
 * token is answered with the same successor again (the caller derives `next` from the token,
 * so every concurrent answer is identical and no second live token appears). Presented after
 * the window, a rotated token is reuse: the whole family is revoked.
 */
export async function rotateRefreshToken(
  writer: Db,
  tokenHash: string,
  next: { tokenHash: string; expiresAt: number },
  options: { graceMs: number; now?: number },
): Promise<{ user: Pick<User, "id" | "role" | "email">; familyId: string }> {
  const now = options.now ?? Date.now();
  let row = await findToken(writer, tokenHash);
  if (!row || row.revokedAt !== null) throw new RefreshTokenInvalidError("Unknown refresh token");
  if (row.rotatedAt === null) {
    if (row.expiresAt <= now) throw new RefreshTokenInvalidError("Expired refresh token");
    const claimed = await writer.update(refreshTokens).set({ rotatedAt: now })
      .where(and(
        eq(refreshTokens.id, row.id),
        isNull(refreshTokens.rotatedAt),
        isNull(refreshTokens.revokedAt),
      ))
      .returning({ id: refreshTokens.id });
    // Lost the race to a concurrent refresh of the same token: the grace rule decides below.
    if (claimed.length === 0) row = await findToken(writer, tokenHash);
  }
  if (!row || row.revokedAt !== null) throw new RefreshTokenInvalidError("Unknown refresh token");
  if (row.rotatedAt !== null && now - row.rotatedAt > options.graceMs) {
    await revokeRefreshTokenFamily(writer, row.familyId);
    throw new RefreshTokenReusedError(`Refresh token family "${row.familyId}" reused`);
  }
  // Whoever gets here first stores the successor; concurrent answers find it there.
  await writer.insert(refreshTokens).values({
    id: crypto.randomUUID(),
    userId: row.userId,
    familyId: row.familyId,
    ...next,
    createdAt: now,
  }).onConflictDoNothing({ target: refreshTokens.tokenHash });
  const [user] = await writer.select({ id: users.id, role: users.role, email: users.email })
    .from(users).where(eq(users.id, row.userId)).limit(1);
  if (!user) throw new RefreshTokenInvalidError("Refresh token of a deleted user");
  return { user, familyId: row.familyId };
}

function findToken(writer: Db, tokenHash: string) {
  return writer.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash))
    .limit(1).then(([row]) => row);
}

/** Revokes every token of a family (logout, reuse). */
export async function revokeRefreshTokenFamily(writer: Db, familyId: string): Promise<void> {
  await writer.update(refreshTokens).set({ revokedAt: Date.now() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/** The family of the token with `tokenHash`, if it exists. */
export async function getRefreshTokenFamily(
  writer: Db,
  tokenHash: string,
): Promise<string | undefined> {
  const [row] = await writer.select({ familyId: refreshTokens.familyId }).from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash)).limit(1);
  return row?.familyId;
}
