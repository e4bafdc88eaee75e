/**
 * A load balancer on a free loopback port that sends each request to the next of several app
 * instances, with no session affinity: a user's consecutive requests, and the refreshes they
 * trigger, land on different instances, as behind a Kubernetes Service or a serverless platform.
 * The `Host` header is kept, so the apps build their redirects for the balancer's address.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { forward } from './http-forward';

export interface RoundRobinProxy {
  readonly url: string;
  /** How many requests each upstream got, in the order given. */
  counts(): number[];
  stop(): Promise<void>;
}

export async function startRoundRobinProxy(upstreams: readonly string[], { port = 0 }: { port?: number } = {}): Promise<RoundRobinProxy> {
  if (upstreams.length === 0) throw new Error('startRoundRobinProxy: no upstream to balance over');
  const targets = upstreams.map((u) => new URL(u));
  const counts = targets.map(() => 0);
  let next = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const index = next;
    next = (next + 1) % targets.length;
    counts[index]!++;
    const target = new URL(req.url ?? '/', targets[index]);
    forward(req, res, target, req.headers.host ? { host: req.headers.host } : {});
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => [...counts],
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
