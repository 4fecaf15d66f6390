/**
 * The few Linux (glibc) calls the shop needs and Deno has no API for, through FFI: the open-file
 * limit (getrlimit), giving freed heap back to the OS (mallinfo2/malloc_trim), and
 * reading and shutting down the shop's own TCP connections (getsockname, getpeername, ioctl,
 * shutdown) so idle and half-sent connections can be closed (see connection_guard.ts).
 *
 * `openLibc()` answers `undefined` off Linux, without `--allow-ffi` (Deno Deploy, the edge
 * mode) or when libc cannot be opened; every caller has a fallback or does without.
 */

/** What the shop asks of libc. */
export interface Libc {
  /** RLIMIT_NOFILE: the soft limit (what applies) and the hard ceiling it may be raised to. */
  fileLimit(): { soft: number; hard: number };
  /** Bytes the allocator holds free (mallinfo2 `fordblks`): memory RSS counts but nothing uses. */
  freeHeapBytes(): number;
  /** malloc_trim(0): hands free heap pages back to the OS; true when some were released. */
  trimHeap(): boolean;
  /** The local port of socket `fd`, or -1 when `fd` is not an open IPv4/IPv6 socket. */
  localPort(fd: number): number;
  /** The peer of socket `fd` as `host:port`, spelled like Deno's `remoteAddr`; undefined if none. */
  peerOf(fd: number): string | undefined;
  /** Bytes of socket `fd` still in its send queue (sent but unacknowledged, or not yet sent). */
  unsentBytes(fd: number): number;
  /** shutdown(fd, SHUT_RDWR): the connection ends; its owner sees end-of-file and closes it. */
  shutdown(fd: number): boolean;
  /** How many descriptor slots the process table has (`FDSize` in /proc/self/status). */
  descriptorTableSize(): number;
}

const RLIMIT_NOFILE = 7;
const SHUT_RDWR = 2;
const SIOCOUTQ = 0x5411;
const AF_INET = 2;
const AF_INET6 = 10;

const SYMBOLS = {
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
  mallinfo2: {
    parameters: [],
    result: { struct: Array(10).fill("usize") as ["usize"] },
  },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let opened: Libc | null | undefined;

/** libc through FFI, opened once; `undefined` where it cannot be used (see the module note). */
export function openLibc(): Libc | undefined {
  if (opened === undefined) opened = tryOpen() ?? null;
  return opened ?? undefined;
}

function tryOpen(): Libc | undefined {
  if (Deno.build.os !== "linux" || typeof Deno.dlopen !== "function") return undefined;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    return bind(Deno.dlopen("libc.so.6", SYMBOLS).symbols);
  } catch {
    return undefined;
  }
}

function bind(libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"]): Libc {
  const limits = new BigUint64Array(2);
  const limitBytes = new Uint8Array(limits.buffer);
  // One sockaddr buffer and its length, reused: the sweep calls these thousands of times.
  const address = new Uint8Array(128);
  const addressLength = new Uint32Array(1);
  const lengthBytes = new Uint8Array(addressLength.buffer);
  const queued = new Int32Array(1);
  const queuedBytes = new Uint8Array(queued.buffer);

  return {
    fileLimit() {
      if (libc.getrlimit(RLIMIT_NOFILE, limitBytes) !== 0) return readFileLimitFromProc();
      return { soft: clampLimit(limits[0]), hard: clampLimit(limits[1]) };
    },
    freeHeapBytes() {
      // struct mallinfo2 { arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks,
      // fordblks, keepcost }: fordblks is the 9th size_t.
      const info = new BigUint64Array((libc.mallinfo2() as Uint8Array).buffer);
      return Number(info[8]);
    },
    trimHeap: () => libc.malloc_trim(0n) === 1,
    localPort(fd) {
      addressLength[0] = address.length;
      if (libc.getsockname(fd, address, lengthBytes) !== 0) return -1;
      const family = address[0] | (address[1] << 8);
      return family === AF_INET || family === AF_INET6 ? (address[2] << 8) | address[3] : -1;
    },
    peerOf(fd) {
      addressLength[0] = address.length;
      if (libc.getpeername(fd, address, lengthBytes) !== 0) return undefined;
      return formatSocketAddress(address);
    },
    unsentBytes(fd) {
      return libc.ioctl(fd, BigInt(SIOCOUTQ), queuedBytes) === 0 ? queued[0] : 0;
    },
    shutdown: (fd) => libc.shutdown(fd, SHUT_RDWR) === 0,
    descriptorTableSize() {
      try {
        const status = Deno.readTextFileSync("/proc/self/status");
        return Number(/^FDSize:\s+(\d+)/m.exec(status)?.[1] ?? 1024);
      } catch {
        // Deno lets only --allow-all read /proc/self/status (the dev and start tasks grant less);
        // no descriptor can be numbered at or above the soft limit, so scan up to that.
        return Math.min(this.fileLimit().soft, 1 << 20);
      }
    },
  };
}

function clampLimit(value: bigint): number {
  // RLIM_INFINITY is 2^64 − 1; nothing here needs more than a safe integer.
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/**
 * RLIMIT_NOFILE from /proc/self/limits, for when FFI is not allowed: reading needs no FFI,
 * raising does. `undefined` where /proc cannot be read.
 */
export function readFileLimitFromProc(): { soft: number; hard: number } {
  const text = Deno.readTextFileSync("/proc/self/limits");
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!match) throw new Error(`No "Max open files" line in /proc/self/limits`);
  const parse = (value: string) => value === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(value);
  return { soft: parse(match[1]), hard: parse(match[2]) };
}

/**
 * `host:port` of a sockaddr_in or sockaddr_in6, with the host spelled as Deno's
 * `ServeHandlerInfo.remoteAddr.hostname` spells it (Rust's `IpAddr` display: dotted IPv4,
 * RFC 5952 IPv6, `::ffff:a.b.c.d` for IPv4-mapped), so both sides name a connection alike.
 */
export function formatSocketAddress(address: Uint8Array): string | undefined {
  const family = address[0] | (address[1] << 8);
  const port = (address[2] << 8) | address[3];
  if (family === AF_INET) return `${address[4]}.${address[5]}.${address[6]}.${address[7]}:${port}`;
  if (family !== AF_INET6) return undefined;
  return `${formatIpv6(address.subarray(8, 24))}:${port}`;
}

/** RFC 5952 text of 16 address bytes, as Rust prints `Ipv6Addr`. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  // The longest run of two or more zero groups becomes "::" (the first one on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16));
  if (bestStart < 0) return hex(0, 8).join(":");
  return `${hex(0, bestStart).join(":")}::${hex(bestStart + bestLength, 8).join(":")}`;
}
