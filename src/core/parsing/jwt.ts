/**
 * The `exp` claim of a JWT access token, read without verifying it, to report time-to-expiry.
 * The token itself never leaves this function: nothing is cached, because a cache keyed by the
 * token would keep raw bearer tokens in memory, and each request brings its token as a new string,
 * so a lookup costs about as much as this parse. Opaque tokens yield undefined.
 */
export function jwtExpiry(token: unknown): number | undefined {
  if (typeof token !== 'string' || token.length > 16_384) return undefined;
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1 || token.indexOf('.', second + 1) !== -1) return undefined;
  try {
    const segment = token
      .slice(first + 1, second)
      .replace(/-/g, '+')
      .replace(/_/g, '/');
    const payload = JSON.parse(atob(segment + '==='.slice((segment.length + 3) % 4))) as { exp?: unknown };
    if (typeof payload.exp === 'number' && Number.isFinite(payload.exp)) return payload.exp;
  } catch {
    // Not base64url JSON: an opaque token that happens to contain two dots.
  }
  return undefined;
}
