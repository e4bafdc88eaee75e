import type { TestProject } from 'vitest/node';
import { startV3LoginApp } from './v3-login-app.js';

declare module 'vitest' {
  export interface ProvidedContext {
    v3: import('./v3-login-app.js').V3TestEnvironment;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const app = await startV3LoginApp();
  project.provide('v3', app.env);
  return app.stop;
}
