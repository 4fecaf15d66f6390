import assert from "node:assert/strict";
import { formatIpv6, openLibc } from "../../../edge/platform/libc.ts";

const SERVER_MODULE = new URL("../../../edge/platform/server.ts", import.meta.url).href;
const LIBC_MODULE = new URL("../../../edge/platform/libc.ts", import.meta.url).href;
const LOG_MODULE = new URL("../../../edge/platform/log.ts", import.meta.url).href;

/** Runs `fitFileLimit` in a child whose open-file limits the shell set first. */
async function fitUnder(ulimit: string, maxConnections: number) {
  const script = `
    import { fitFileLimit } from "${SERVER_MODULE}";
    import { openLibc } from "${LIBC_MODULE}";
    import { createLogger } from "${LOG_MODULE}";
    const lines = [];
    const logger = createLogger("info", { write: (line) => lines.push(JSON.parse(line)) });
    const libc = openLibc();
    const fits = fitFileLimit({ maxConnections: ${maxConnections} }, { libc, logger });
    console.log(JSON.stringify({ fits, limit: libc.fileLimit(), lines }));
  `;
  const output = await new Deno.Command("sh", {
    args: ["-c", `${ulimit} && exec "$0" eval "$1"`, Deno.execPath(), script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout)) as {
    fits: number;
    limit: { soft: number; hard: number };
    lines: Array<{ level: string; msg: string }>;
  };
}

Deno.test("[libc] a low soft open-file limit is no obstacle: Deno raises it to the hard one", async () => {
  const { hard } = openLibc()!.fileLimit();
  const result = await fitUnder("ulimit -Sn 512", 1000);
  assert.equal(result.limit.soft, hard);
  assert.equal(result.fits, hard >= 1256 ? 1000 : hard - 256);
});

Deno.test("[libc] a hard open-file limit too low for MAX_CONNECTIONS lowers the cap and says how to raise it", async () => {
  const result = await fitUnder("ulimit -Sn 512 && ulimit -Hn 600", 1000);
  assert.equal(result.limit.soft, 600, "raised to the hard limit");
  assert.equal(result.fits, 600 - 256);
  const warning = result.lines.find((line) => line.level === "warn");
  assert.match(
    warning?.msg ?? "",
    /fits only 344 client connections.*capped at 344.*ulimit -n 1256/,
  );
});

Deno.test("[libc] names a connection's peer exactly as Deno's remoteAddr does", async (t) => {
  const libc = openLibc()!;
  const listener = Deno.listen({ hostname: "::", port: 0 });
  try {
    for (const hostname of ["127.0.0.1", "::1"]) {
      await t.step(hostname, async () => {
        const client = await Deno.connect({ hostname, port: listener.addr.port });
        const accepted = await listener.accept();
        try {
          const remote = accepted.remoteAddr as Deno.NetAddr;
          const expected = `${remote.hostname}:${remote.port}`;
          const peers: string[] = [];
          for (let fd = 3; fd < libc.descriptorTableSize(); fd++) {
            if (libc.localPort(fd) !== listener.addr.port) continue;
            const peer = libc.peerOf(fd);
            if (peer) peers.push(peer);
          }
          assert.ok(peers.includes(expected), `${expected} not among ${peers}`);
        } finally {
          accepted.close();
          client.close();
        }
      });
    }
  } finally {
    listener.close();
  }
});

Deno.test("[libc] IPv6 addresses are written in RFC 5952 form", () => {
  const bytes = (...groups: number[]) => {
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      out[2 * i] = g >> 8;
      out[2 * i + 1] = g & 0xff;
    });
    return out;
  };
  assert.equal(formatIpv6(bytes(0, 0, 0, 0, 0, 0, 0, 1)), "::1");
  assert.equal(formatIpv6(bytes(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)), "2001:db8::1:0:0:1");
  assert.equal(formatIpv6(bytes(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1)), "2001:db8:0:1:1:1:1:1");
  assert.equal(formatIpv6(bytes(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)), "::ffff:192.0.2.1");
  assert.equal(formatIpv6(bytes(0xfe80, 0, 0, 0, 0, 0, 0, 0)), "fe80::");
});
