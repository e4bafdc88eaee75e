/**
 * What `http.route` accepts: a route template, never a request path. Each segment must be a
 * placeholder (`[id]`, `[...slug]`, `[[...slug]]`, `:id`, `*`), a route group `(name)`, or a
 * static word that does not look like data. A segment of digits, one with three or
 * more digits, a UUID, a run of 16 hex digits, a long mixed-case token (base64, nanoid, API ids),
 * an email, anything percent-encoded and control characters all make the value a path, not a
 * template. A plain lowercase word (`/users/alice`) cannot be told from a static segment; the app's
 * `route` option must hand over the template.
 */
const MAX_LENGTH = 128;
const PLACEHOLDER = /^(?:\[\[\.\.\.[A-Za-z_$][\w$]*\]\]|\[(?:\.\.\.)?[A-Za-z_$][\w$]*\]|:[A-Za-z_$][\w$]*[*+?]?|\*|\([\w.-]+\))$/;
const STATIC = /^[A-Za-z0-9._~-]{1,40}$/;
const UUID = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i;
const LONG_HEX = /[0-9a-f]{16}/i;

function looksLikeData(segment: string): boolean {
  if (/^\d+$/.test(segment)) return true;
  if ((segment.match(/\d/g)?.length ?? 0) >= 3) return true;
  if (UUID.test(segment) || LONG_HEX.test(segment)) return true;
  // base64 / base64url, nanoid, Stripe-style ids: long and mixed-case, with digits or with far more
  // capitals than a camel-case word has.
  if (segment.length < 16) return false;
  const upper = segment.match(/[A-Z]/g)?.length ?? 0;
  const lower = segment.match(/[a-z]/g)?.length ?? 0;
  return upper > 0 && lower > 0 && (/\d/.test(segment) || upper * 4 >= upper + lower);
}

function isTemplateSegment(segment: string): boolean {
  if (segment === '') return true;
  if (PLACEHOLDER.test(segment)) return true;
  return STATIC.test(segment) && !looksLikeData(segment);
}

export function isRouteTemplate(route: string): boolean {
  if (route.length > MAX_LENGTH || !route.startsWith('/')) return false;
  return route.split('/').every(isTemplateSegment);
}
