/**
 * An unstorage storage server (`createStorageServer`, an h3 handler) on a free loopback port, in
 * front of a Redis: what an Edge runtime, which has no TCP, reaches the shared refresh ledger
 * through with unstorage's `http` driver, as a small service next to the app would serve it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStorage } from 'unstorage';
import redisDriver from 'unstorage/drivers/redis';
import { createStorageServer } from 'unstorage/server';
import { serverCloser } from './server-closer.js';

export interface StorageServer {
  /** `http://127.0.0.1:<port>`: the `base` of unstorage's `http` driver. */
  url: string;
  /** Stops the server and closes its Redis connection. */
  close(): Promise<void>;
}

export async function startRedisStorageServer(redisUrl: string): Promise<StorageServer> {
  const storage = createStorage({ driver: redisDriver({ url: redisUrl }) });
  const server = createServer(createStorageServer(storage).handle);
  const closeServer = serverCloser(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await closeServer();
      await storage.dispose();
    },
  };
}
