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
 * Marks the token with `tokenHash` rotated and stores `nextHash` in its family, returning the
 * owner. The conditional update makes two concurrent uses of one token race safely: one wins,
 * the other counts as reuse and revokes the family.
 */
export async function rotateRefreshToken(
  writer: Db,
  tokenHash: string,
  next: { tokenHash: string; expiresAt: number },
): Promise<{ user: Pick<User, "id" | "role" | "email">; familyId: string }> {
  const now = Date.now();
  const [row] = await writer.select().from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash)).limit(1);
  if (!row || row.revokedAt !== null) throw new RefreshTokenInvalidError("Unknown refresh token");
  if (row.rotatedAt !== null) {
    await revokeRefreshTokenFamily(writer, row.familyId);
    throw new RefreshTokenReusedError(`Refresh token family "${row.familyId}" reused`);
  }
  if (row.expiresAt <= now) throw new RefreshTokenInvalidError("Expired refresh token");
  const claimed = await writer.update(refreshTokens).set({ rotatedAt: now })
    .where(and(
      eq(refreshTokens.id, row.id),
      isNull(refreshTokens.rotatedAt),
      isNull(refreshTokens.revokedAt),
    ))
    .returning({ id: refreshTokens.id });
  if (claimed.length === 0) {
    await revokeRefreshTokenFamily(writer, row.familyId);
    throw new RefreshTokenReusedError(`Refresh token family "${row.familyId}" reused`);
  }
  await createRefreshToken(writer, { userId: row.userId, familyId: row.familyId, ...next });
  const [user] = await writer.select({ id: users.id, role: users.role, email: users.email })
    .from(users).where(eq(users.id, row.userId)).limit(1);
  if (!user) throw new RefreshTokenInvalidError("Refresh token of a deleted user");
  return { user, familyId: row.familyId };
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
