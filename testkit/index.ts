/**
 * Integration testkit: a real OpenID Provider, a real OTLP/HTTP receiver, and a browser-like login driver.
 * Plain ESM TypeScript without vitest imports (used by vitest tests and by `tsx` demo scripts).
 */
export * from './idp';
export * from './login';
export * from './otlp-receiver';
