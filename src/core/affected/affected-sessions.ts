/**
 * "How many users are affected", without exporting who: each session counts once per outcome
 * kind and time bucket in `auth.sessions.affected`. A session is known by a keyed hash of
 * something stable in it (the user id, the refresh token it presents, the unreadable cookie it
 * sends); the hash is only ever a de-duplication key, never exported.
 */
import type { AffectedOutcome } from '../telemetry/catalog.js';
import type { MetricFacts, Recorder } from '../telemetry/recorder.js';
import { saltedHmacSha256 } from '../telemetry/user-hash.js';
import { randomSalt } from '../refresh/refresh-ledger.js';
import { InMemorySessionClaimStore, type SessionClaimStore } from './claim-store.js';

export const DEFAULT_AFFECTED_BUCKET_SECONDS = 3600;

export type AffectedSessionsOptions = { store?: SessionClaimStore; salt?: string; capacity?: number; bucketSeconds?: number };

export class AffectedSessions {
  /** Where a shared store plugs in (e.g. the one shared by the lost-rotation ledger): it must offer `claim(key, ttlSeconds)`. */
  readonly store: SessionClaimStore;
  readonly bucketSeconds: number;
  private readonly mac: (message: string) => string;

  constructor(options: AffectedSessionsOptions = {}) {
    this.store = options.store ?? new InMemorySessionClaimStore(options.capacity);
    this.bucketSeconds = options.bucketSeconds ?? DEFAULT_AFFECTED_BUCKET_SECONDS;
    this.mac = saltedHmacSha256(options.salt ?? randomSalt());
  }

  /**
   * Counts the session once in its current bucket for this outcome. `identity` is what the
   * session is known by (already a fingerprint, or a raw user id or cookie: hashed here). The
   * claim may be asynchronous (a shared store); the returned promise never rejects.
   */
  note(recorder: Recorder, outcome: AffectedOutcome, facts: MetricFacts, identity: string, onError: (error: unknown) => void): Promise<void> {
    try {
      const now = Date.now() / 1000;
      const bucket = Math.floor(now / this.bucketSeconds);
      const ttl = Math.ceil((bucket + 1) * this.bucketSeconds - now) + 60;
      const key = `${outcome}:${bucket}:${this.mac(identity).slice(0, 32)}`;
      const counted: MetricFacts = { ...facts, affectedOutcome: outcome };
      return this.store.claim(key, ttl).then(
        (first) => {
          if (first === true) recorder.add('sessionsAffected', counted);
        },
        (error: unknown) => onError(error),
      );
    } catch (error) {
      onError(error);
      return Promise.resolve();
    }
  }
}
