/**
 * Integration testkit: a real OpenID Provider, a credentials token backend, a real OTLP/HTTP receiver, and a browser-like login driver.
 * Plain ESM TypeScript without vitest imports (used by vitest tests and by `tsx` demo scripts).
 */
export * from './idp';
export * from './login';
export * from './otlp-receiver';
export * from './credentials-backend';
