import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: { type: string; timestamp: string; data: Record<string, any> };
  /** When the request arrived (Date.now()): the tests time the pipeline from a change to its delivery. */
  receivedAt: number;
}

/**
 * A webhook receiver as a customer runs one: it answers 500 to the first `failFirst` attempts of
 * each message (by webhook-id), then 204, and keeps every request it got, and separately each
 * message once (de-duplicated by webhook-id, as Standard Webhooks tells receivers to).
 */
export class Receiver {
  readonly requests: Received[] = [];
  readonly messages = new Map<string, Received>();
  private readonly server: Server;

  constructor(private readonly failFirst = 0) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const received = { headers: request.headers, body, event: JSON.parse(body), receivedAt: Date.now() };
        this.requests.push(received);
        const id = String(request.headers['webhook-id']);
        const attempts = this.requests.filter((r) => r.headers['webhook-id'] === id).length;
        if (attempts <= this.failFirst) {
          response.writeHead(500).end();
          return;
        }
        if (!this.messages.has(id)) this.messages.set(id, received);
        response.writeHead(204).end();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Waits (up to a minute: the relay, the queue and Lambda workers on a shared emulator) for a delivered message that matches. */
  async next(match: (event: Received['event']) => boolean): Promise<Received> {
    for (let waited = 0; waited < 90_000; waited += 250) {
      const found = [...this.messages.values()].find((received) => match(received.event));
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`no matching delivery; got ${[...this.messages.values()].map((r) => r.event.type).join(', ') || 'nothing'}`);
  }
}
