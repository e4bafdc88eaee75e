import { saltedHmacSha256 } from '../telemetry/user-hash.js';

/**
 * Where fingerprints of refresh tokens already exchanged successfully are kept. A refresh that
 * presents one of them again means the rotated token was never stored (next-auth #7558, a
 * Server Component that cannot write the cookie). The default store is per process; a shared
 * store (Redis, a KV) is the extension point for multi-instance deployments, and only ever sees
 * salted fingerprints.
 */
export interface RefreshTokenLedger {
  has(fingerprint: string): boolean;
  add(fingerprint: string): void;
}

/** Insertion-ordered and bounded: the oldest fingerprints are forgotten first. */
export class InMemoryRefreshTokenLedger implements RefreshTokenLedger {
  private readonly fingerprints = new Set<string>();
  constructor(private readonly capacity = 10_000) {}

  has(fingerprint: string): boolean {
    return this.fingerprints.has(fingerprint);
  }

  add(fingerprint: string): void {
    if (this.fingerprints.has(fingerprint)) return;
    if (this.fingerprints.size >= this.capacity) {
      const oldest = this.fingerprints.values().next().value;
      if (oldest !== undefined) this.fingerprints.delete(oldest);
    }
    this.fingerprints.add(fingerprint);
  }

  get size(): number {
    return this.fingerprints.size;
  }
}

export function randomSalt(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Keyed by the salt so a fingerprint seen in a heap dump or a shared store cannot be matched to a
 * token without it. Truncated to 128 bits, still far from any chance collision.
 */
export class RefreshTokenFingerprinter {
  private readonly mac: (message: string) => string;
  constructor(salt: string = randomSalt()) {
    this.mac = saltedHmacSha256(salt);
  }

  fingerprint(refreshToken: string): string {
    return this.mac(refreshToken).slice(0, 32);
  }
}
