import { describe, expect, it } from 'vitest';
import { jwtExpiry } from '../src/core/parsing/jwt.js';

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const jwt = (claims: unknown) => `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}.c2lnbmF0dXJl`;

describe('jwtExpiry', () => {
  it('reads exp from an unverified JWT, every time the same', () => {
    const token = jwt({ sub: 'auth0|user-1', exp: 1_700_003_600, note: '??>>~~' });
    expect(jwtExpiry(token)).toBe(1_700_003_600);
    expect(jwtExpiry(token)).toBe(1_700_003_600);
  });

  it('yields undefined for opaque, malformed, oversized or exp-less tokens', () => {
    expect(jwtExpiry(undefined)).toBeUndefined();
    expect(jwtExpiry(42)).toBeUndefined();
    expect(jwtExpiry('opaque-access-token')).toBeUndefined();
    expect(jwtExpiry('a.b')).toBeUndefined();
    expect(jwtExpiry('a.b.c.d')).toBeUndefined();
    expect(jwtExpiry('a.!!!.c')).toBeUndefined();
    expect(jwtExpiry(jwt(null))).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: '1700003600' }))).toBeUndefined();
    expect(jwtExpiry(jwt({ sub: 'x' }))).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: 1, pad: 'x'.repeat(16_384) }))).toBeUndefined();
  });
});
