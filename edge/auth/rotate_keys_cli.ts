// `deno task auth:rotate-keys`: prints the next value of AUTH_SIGNING_KEYS, a new Ed25519 key
// first (it signs from the next deploy on) followed by the current keys (they keep verifying
// tokens already issued). Keys older than the one before are dropped: access tokens live
// AUTH_ACCESS_TTL_SECONDS, so one rotation later no token signed by them is still valid.
import { ConfigError, readConfigFromEnv } from "../platform/config.ts";
import { generateSigningKey } from "./tokens.ts";

const KEEP_PREVIOUS = 1;

try {
  const current = readConfigFromEnv().auth.signingKeys ?? [];
  const next = [await generateSigningKey(), ...current.slice(0, KEEP_PREVIOUS)];
  console.log(JSON.stringify(next));
} catch (error) {
  console.error(error instanceof ConfigError ? `config error: ${error.message}` : error);
  Deno.exit(1);
}
