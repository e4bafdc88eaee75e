/*! Bundles @noble/hashes, (c) 2022 Paul Miller (https://paulmillr.com), MIT License */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * HMAC-SHA-256 keyed by a secret salt, as lowercase hex. Keyed rather than a hash of
 * salt + value so the construction has a security argument (a PRF under the key) instead of
 * relying on a separator. @noble/hashes because hashing runs synchronously on the request path:
 * `crypto.subtle` is async and Edge has no `node:crypto`.
 */
export function saltedHmacSha256(salt: string): (message: string) => string {
  const key = utf8ToBytes(salt);
  return (message) => bytesToHex(hmac(sha256, key, utf8ToBytes(message)));
}

/** Opt-in user-id hashing for `user.hash`. Results are memoised per id. */
export class UserHasher {
  private readonly memo = new Map<string, string>();
  private readonly mac: (message: string) => string;
  constructor(salt: string) {
    this.mac = saltedHmacSha256(salt);
  }

  hash(userId: string): string {
    let hashed = this.memo.get(userId);
    if (hashed === undefined) {
      hashed = this.mac(userId);
      if (this.memo.size >= 1000) this.memo.clear();
      this.memo.set(userId, hashed);
    }
    return hashed;
  }
}
