// A real HTTP proxy on 127.0.0.1 in front of the live service: it records
// every request it gets and answers the ones a test asks it to fault with a
// canned response instead of forwarding them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Seen {
  method: string;
  path: string;
  key: string | null;
  at: number;
}

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface FaultProxy {
  url: string;
  seen: Seen[];
  /** The next POSTs get these answers, one each, before forwarding resumes. */
  failNextPosts(...faults: Fault[]): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive"]);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const seen: Seen[] = [];
  const faults: Fault[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const key = req.headers["idempotency-key"];
    seen.push({
      method: req.method ?? "",
      path: req.url ?? "",
      key: typeof key === "string" ? key : null,
      at: Date.now(),
    });
    const fault = req.method === "POST" ? faults.shift() : undefined;
    if (fault) {
      // a string is a page of some gateway, not the service's JSON
      const html = typeof fault.body === "string";
      res.writeHead(fault.status, {
        "Content-Type": html ? "text/html" : "application/json",
        ...fault.headers,
      });
      res.end(html ? fault.body : JSON.stringify(fault.body));
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string" && !HOP_BY_HOP.has(name)) headers.set(name, value);
    }
    const upstream = await fetch(target + (req.url ?? "/"), {
      method: req.method ?? "GET",
      headers,
      body: body.length ? new Uint8Array(body) : undefined,
    });
    const out: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name) && name !== "content-encoding") out[name] = value;
    });
    res.writeHead(upstream.status, out);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(502, { "Content-Type": "text/plain" });
      res.end(`fault proxy: ${String(err)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    failNextPosts: (...more) => faults.push(...more),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
