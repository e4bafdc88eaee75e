import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startOtlpReceiver } from '../../testkit/index.js';
import { startV3LoginApp } from './v3-login-app.js';

declare module 'vitest' {
  export interface ProvidedContext {
    v3: import('./v3-login-app.js').V3TestEnvironment;
    /** A shared OTLP receiver, for test files in the Edge runtime that cannot start servers. */
    otlp: { url: string; dumpUrl: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const app = await startV3LoginApp();
  project.provide('v3', app.env);
  const receiver = await startOtlpReceiver();
  const dump = createServer((req, res) => {
    if (req.url === '/reset') receiver.reset();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ spans: receiver.spans(), metricPoints: receiver.metricPoints() }));
  });
  await new Promise<void>((resolve) => dump.listen(0, '127.0.0.1', resolve));
  project.provide('otlp', { url: receiver.url, dumpUrl: `http://127.0.0.1:${(dump.address() as AddressInfo).port}` });
  return async () => {
    dump.close();
    await receiver.stop();
    await app.stop();
  };
}
