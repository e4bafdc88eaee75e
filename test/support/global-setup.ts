import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startOtlpReceiver } from '../../testkit/index.js';
import { startV3LoginApp } from './v3-login-app.js';
import { V3_VERSIONS, type V3Version } from './v3-sdks.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The login app on nextjs-auth0 3.7.0, for tests that run one v3 release. */
    v3: import('./v3-login-app.js').V3TestEnvironment;
    /** One login app per v3 release the v3 suites run against. */
    v3ByVersion: Record<V3Version, import('./v3-login-app.js').V3TestEnvironment>;
    /** A shared OTLP receiver, for test files in the Edge runtime that cannot start servers. */
    otlp: { url: string; dumpUrl: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const apps = await Promise.all(V3_VERSIONS.map((version) => startV3LoginApp(version)));
  const byVersion = Object.fromEntries(apps.map((app) => [app.env.version, app.env])) as Record<V3Version, (typeof apps)[number]['env']>;
  project.provide('v3', byVersion['3.7.0']);
  project.provide('v3ByVersion', byVersion);
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
    await Promise.all(apps.map((app) => app.stop()));
  };
}
