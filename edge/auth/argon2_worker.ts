/// <reference lib="deno.worker" />
/**
 * The Web Worker behind edge/auth/argon2_wasm.ts: runs one argon2id request at a time off the
 * event loop of the process that serves requests, and answers with its id.
 */
import { type Argon2Reply, type Argon2Request, runArgon2Request } from "./argon2_wasm.ts";

self.onmessage = async (event: MessageEvent<Argon2Request>) => {
  const { id } = event.data;
  let reply: Argon2Reply;
  try {
    reply = { id, ok: true, value: await runArgon2Request(event.data) };
  } catch (error) {
    reply = { id, ok: false, error: (error as Error).message ?? String(error) };
  }
  self.postMessage(reply);
};
