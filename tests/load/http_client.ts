/**
 * A minimal HTTP/1.1 client for the load tool: one keep-alive connection per virtual user, as k6
 * gives each VU its own, over `Deno.connect`, with request heads prebuilt per path, pooled read
 * buffers, and no decompression (bytes are counted as they arrive on the wire).
 *
 * `fetch` costs the generator about four times the CPU per request (a Request, a Response, a
 * Headers object, an AbortSignal and a timer each time, gzip inflated, body streamed in
 * promises), which saturated two generator processes at 10,000 VUs. This handles what the shop
 * answers: Content-Length and chunked bodies, `Connection: close`, HEAD, 1xx-free responses.
 */

/** What a request came back with; the body only when asked for. */
export interface RawResponse {
  status: number;
  /** Head plus body bytes, as received. */
  bytes: number;
  setCookies: string[];
  body?: Uint8Array;
}

/** A request that got no complete response; `reason` is short and groupable. */
export class RequestFailedError extends Error {
  override name = "RequestFailedError";
  constructor(readonly reason: string, options?: ErrorOptions) {
    super(reason, options);
  }
}

const CR = 13;
const LF = 10;
const READ_BUFFER_BYTES = 16 * 1024;
const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();

/** Read buffers are taken only while a response is being read: thinking VUs hold none. */
const spareBuffers: Uint8Array[] = [];
function takeBuffer(): Uint8Array {
  return spareBuffers.pop() ?? new Uint8Array(READ_BUFFER_BYTES);
}
function returnBuffer(buffer: Uint8Array): void {
  if (spareBuffers.length < 1024) spareBuffers.push(buffer);
}

/** Builds the bytes of a request head (and body). */
export function encodeRequest(
  method: string,
  path: string,
  headers: Array<[string, string]>,
  body?: string,
): Uint8Array {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  if (body !== undefined) head += `Content-Length: ${encoder.encode(body).byteLength}\r\n`;
  return encoder.encode(`${head}\r\n${body ?? ""}`);
}

/** Deadlines of every request in flight in this process, checked by one timer. */
class Deadlines {
  #entries = new Set<{ at: number; expire: () => void }>();
  #timer?: ReturnType<typeof setInterval>;

  add(at: number, expire: () => void) {
    const entry = { at, expire };
    this.#entries.add(entry);
    this.#timer ??= setInterval(() => this.#sweep(), 100);
    return entry;
  }

  delete(entry: { at: number; expire: () => void }): void {
    this.#entries.delete(entry);
  }

  #sweep(): void {
    const now = performance.now();
    for (const entry of this.#entries) {
      if (entry.at > now) continue;
      this.#entries.delete(entry);
      entry.expire();
    }
    if (this.#entries.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

const deadlines = new Deadlines();

/** One VU's keep-alive connection to `hostname:port`, opened on first use and after a close. */
export class KeepAliveConnection {
  #conn?: Deno.Conn;
  /** Requests already answered on the current connection (0: freshly opened). */
  #served = 0;
  #timedOut = false;

  constructor(readonly hostname: string, readonly port: number) {}

  /**
   * Sends `request` and reads the whole response. A connection reused from an earlier request
   * that fails before any response byte (the server closed it while idle) is reopened and the
   * request sent once more, as browsers do.
   */
  async send(
    request: Uint8Array,
    options: { timeoutMs: number; keepBody?: boolean; head?: boolean },
  ): Promise<RawResponse> {
    const deadline = deadlines.add(performance.now() + options.timeoutMs, () => {
      this.#timedOut = true;
      this.close();
    });
    try {
      for (let attempt = 0;; attempt++) {
        const reused = this.#conn !== undefined && this.#served > 0;
        const progress = { received: 0 };
        try {
          const conn = this.#conn ??= await this.#open();
          await writeAll(conn, request);
          const response = await readResponse(conn, progress, options);
          this.#served++;
          if (response.close) this.close();
          return response;
        } catch (error) {
          this.close();
          if (this.#timedOut) throw new RequestFailedError("timeout", { cause: error });
          if (reused && progress.received === 0 && attempt === 0) continue;
          throw new RequestFailedError(classifyError(error), { cause: error });
        }
      }
    } finally {
      deadlines.delete(deadline);
      this.#timedOut = false;
    }
  }

  async #open(): Promise<Deno.Conn> {
    const conn = await Deno.connect({ hostname: this.hostname, port: this.port });
    conn.setNoDelay(true);
    this.#served = 0;
    return conn;
  }

  /** Closes the connection (a later `send` opens a new one). */
  close(): void {
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#conn = undefined;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

interface ParsedResponse extends RawResponse {
  close: boolean;
}

/** Reads one response from `conn`; `progress.received` counts bytes as they come. */
async function readResponse(
  conn: Deno.Conn,
  progress: { received: number },
  options: { keepBody?: boolean; head?: boolean },
): Promise<ParsedResponse> {
  const buffer = takeBuffer();
  try {
    // The head: read until CRLFCRLF (nearly always in the first read).
    let filled = 0;
    let headEnd = -1;
    while (headEnd < 0) {
      if (filled === buffer.length) throw new Error("response head larger than 16 KiB");
      const n = await conn.read(buffer.subarray(filled));
      if (n === null) throw new Error("connection closed before a response");
      progress.received += n;
      headEnd = findHeadEnd(buffer, Math.max(0, filled - 3), filled + n);
      filled += n;
    }
    const head = parseHead(latin1.decode(buffer.subarray(0, headEnd)));
    const bodyStart = headEnd + 4;
    const noBody = options.head || head.status === 204 || head.status === 304;
    const reader = new BodyReader(conn, buffer, bodyStart, filled, progress, options.keepBody);
    let bodyBytes = 0;
    if (noBody) bodyBytes = 0;
    else if (head.chunked) bodyBytes = await reader.chunked();
    else if (head.contentLength !== undefined) bodyBytes = await reader.exactly(head.contentLength);
    else {
      bodyBytes = await reader.untilClose();
      head.close = true;
    }
    return {
      status: head.status,
      bytes: bodyStart + bodyBytes,
      setCookies: head.setCookies,
      body: options.keepBody ? reader.collected() : undefined,
      close: head.close,
    };
  } finally {
    returnBuffer(buffer);
  }
}

function findHeadEnd(buffer: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) {
    if (buffer[i] === CR && buffer[i + 1] === LF && buffer[i + 2] === CR && buffer[i + 3] === LF) {
      return i;
    }
  }
  return -1;
}

interface Head {
  status: number;
  contentLength?: number;
  chunked: boolean;
  close: boolean;
  setCookies: string[];
}

const NO_COOKIES: string[] = [];

/** The status and the few headers framing needs (and cookies). */
export function parseHead(text: string): Head {
  if (!text.startsWith("HTTP/1.")) {
    throw new Error(`not an HTTP/1 response: "${text.slice(0, 20)}"`);
  }
  const head: Head = {
    status: Number(text.slice(9, 12)),
    chunked: false,
    close: text.startsWith("HTTP/1.0"),
    setCookies: NO_COOKIES,
  };
  let lineStart = text.indexOf("\r\n") + 2;
  while (lineStart > 1 && lineStart < text.length) {
    let lineEnd = text.indexOf("\r\n", lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const colon = text.indexOf(":", lineStart);
    if (colon > 0 && colon < lineEnd) {
      const nameLength = colon - lineStart;
      // Only the lengths of the names that matter are compared before lowercasing.
      if (nameLength === 14 || nameLength === 17 || nameLength === 10) {
        const name = text.slice(lineStart, colon).toLowerCase();
        const value = text.slice(colon + 1, lineEnd).trim();
        if (name === "content-length") head.contentLength = Number(value);
        else if (name === "transfer-encoding") head.chunked = /chunked/i.test(value);
        else if (name === "connection") head.close = /close/i.test(value);
        else if (name === "set-cookie") {
          if (head.setCookies === NO_COOKIES) head.setCookies = [];
          head.setCookies.push(value);
        }
      }
    }
    lineStart = lineEnd + 2;
  }
  return head;
}

/** Reads a body after its head, from what is already buffered and then the connection. */
class BodyReader {
  #parts: Uint8Array[] = [];

  constructor(
    private conn: Deno.Conn,
    private buffer: Uint8Array,
    private start: number,
    private end: number,
    private progress: { received: number },
    private keep = false,
  ) {}

  collected(): Uint8Array {
    const out = new Uint8Array(this.#parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Buffered bytes left, refilling from the connection when none; 0 at end of stream. */
  async #available(): Promise<number> {
    if (this.start < this.end) return this.end - this.start;
    const n = await this.conn.read(this.buffer);
    if (n === null) return 0;
    this.progress.received += n;
    this.start = 0;
    this.end = n;
    return n;
  }

  #take(count: number): void {
    if (this.keep) this.#parts.push(this.buffer.slice(this.start, this.start + count));
    this.start += count;
  }

  async exactly(length: number): Promise<number> {
    let left = length;
    while (left > 0) {
      const available = await this.#available();
      if (available === 0) throw new Error("connection closed in the middle of a body");
      const take = Math.min(left, available);
      this.#take(take);
      left -= take;
    }
    return length;
  }

  async untilClose(): Promise<number> {
    let total = 0;
    for (let available; (available = await this.#available()) > 0;) {
      this.#take(available);
      total += available;
    }
    return total;
  }

  /** A chunked body: size lines, chunks, and the final empty chunk with its CRLF. */
  async chunked(): Promise<number> {
    let total = 0;
    while (true) {
      const line = await this.#line();
      total += line.length + 2;
      const size = parseInt(line, 16);
      if (!Number.isFinite(size)) throw new Error(`bad chunk size "${line.slice(0, 20)}"`);
      if (size === 0) {
        // Trailers (none from the shop) end with an empty line.
        for (let trailer = await this.#line(); trailer !== ""; trailer = await this.#line()) {
          total += trailer.length + 2;
        }
        return total + 2;
      }
      total += await this.exactly(size);
      await this.#skipCrlf();
      total += 2;
    }
  }

  async #line(): Promise<string> {
    let text = "";
    while (true) {
      const available = await this.#available();
      if (available === 0) throw new Error("connection closed in the middle of a chunk");
      const lf = this.buffer.subarray(this.start, this.end).indexOf(LF);
      if (lf < 0) {
        text += latin1.decode(this.buffer.subarray(this.start, this.end));
        this.start = this.end;
        continue;
      }
      text += latin1.decode(this.buffer.subarray(this.start, this.start + lf));
      this.start += lf + 1;
      return text.endsWith("\r") ? text.slice(0, -1) : text;
    }
  }

  async #skipCrlf(): Promise<void> {
    if (await this.#line() !== "") throw new Error("chunk not followed by CRLF");
  }
}

/** Maps a connection error (or its message) to a short, groupable reason. */
export function classifyError(error: unknown): string {
  const message = typeof error === "string"
    ? error
    : error instanceof Error
    ? `${error.name} ${error.message}`
    : String(error);
  if (/os error 24|too many open files/i.test(message)) return "EMFILE (too many open files)";
  if (/refused/i.test(message)) return "connection refused";
  if (/reset|broken pipe|closed|BadResource|Interrupted/i.test(message)) return "connection reset";
  if (/timed? ?out/i.test(message)) return "timeout";
  return message.replace(/\s+/g, " ").trim().slice(0, 80);
}
