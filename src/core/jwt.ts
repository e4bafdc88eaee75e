/**
 * The `exp` claim of a JWT access token, read without verifying it, to report time-to-expiry.
 * The token itself never leaves this function. Opaque tokens yield undefined.
 */
const expiryCache = new Map<string, number | null>();

export function jwtExpiry(token: unknown): number | undefined {
  if (typeof token !== 'string' || token.length > 16_384) return undefined;
  const cached = expiryCache.get(token);
  if (cached !== undefined) return cached ?? undefined;
  let exp: number | null = null;
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second !== -1 && token.indexOf('.', second + 1) === -1) {
    try {
      const segment = token.slice(first + 1, second).replace(/-/g, '+').replace(/_/g, '/');
      const payload = JSON.parse(atob(segment + '==='.slice((segment.length + 3) % 4))) as { exp?: unknown };
      if (typeof payload.exp === 'number' && Number.isFinite(payload.exp)) exp = payload.exp;
    } catch {
      exp = null;
    }
  }
  if (expiryCache.size >= 256) expiryCache.clear();
  expiryCache.set(token, exp);
  return exp ?? undefined;
}
