import { ATTRIBUTES, OTHER, type AttributeName } from './catalog.js';
import { isRouteTemplate } from './route-template.js';

const allowlists = new Map<AttributeName, ReadonlySet<string>>();

function allowlistOf(attribute: AttributeName): ReadonlySet<string> | undefined {
  let set = allowlists.get(attribute);
  if (set === undefined) {
    const values = (ATTRIBUTES[attribute] as { values?: readonly string[] }).values;
    if (values === undefined) return undefined;
    set = new Set(values);
    allowlists.set(attribute, set);
  }
  return set;
}

/** The value when the catalog allows it for this attribute, otherwise `other`. */
export function bounded(attribute: AttributeName, value: unknown): string {
  if (typeof value !== 'string') return OTHER;
  const allowed = allowlistOf(attribute);
  return allowed === undefined || allowed.has(value) ? value : OTHER;
}

export function isAllowed(attribute: AttributeName, value: unknown): value is string {
  return typeof value === 'string' && allowlistOf(attribute)?.has(value) === true;
}

/**
 * Route templates come from the app, so their set is unbounded in principle: the first
 * `limit` distinct templates are kept and later ones become `other`. Anything that is not a
 * template (`isRouteTemplate`: a segment that looks like data, a query string, control
 * characters) is `other` outright, on spans as on metrics.
 */
export class RouteBound {
  private readonly seen = new Set<string>();
  constructor(private limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
  }

  accept(route: string | undefined): string | undefined {
    if (route === undefined || route === '') return undefined;
    if (this.seen.has(route)) return route;
    if (typeof route !== 'string' || !isRouteTemplate(route)) return OTHER;
    if (this.seen.size >= this.limit) return OTHER;
    this.seen.add(route);
    return route;
  }
}
