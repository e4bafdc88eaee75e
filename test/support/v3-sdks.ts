/**
 * The nextjs-auth0 v3 releases the v3 suites run against: 3.7.0 under the package's own name and
 * 3.8.0, the last v3 release, under an npm alias. Each entry imports the real installed package.
 */
export const V3_VERSIONS = ['3.7.0', '3.8.0'] as const;
export type V3Version = (typeof V3_VERSIONS)[number];

/** The Node module (`@auth0/nextjs-auth0`) of each version. */
export const V3_NODE_MODULE: Record<V3Version, () => Promise<unknown>> = {
  '3.7.0': () => import('@auth0/nextjs-auth0'),
  '3.8.0': () => import('@auth0/nextjs-auth0-v3-8'),
};

/** The Edge module (`@auth0/nextjs-auth0/edge`) of each version. */
export const V3_EDGE_MODULE: Record<V3Version, () => Promise<unknown>> = {
  '3.7.0': () => import('@auth0/nextjs-auth0/edge'),
  '3.8.0': () => import('@auth0/nextjs-auth0-v3-8/edge'),
};

/** The name each version is installed under, for checking which release a test really loaded. */
export const V3_PACKAGE = { '3.7.0': '@auth0/nextjs-auth0', '3.8.0': '@auth0/nextjs-auth0-v3-8' } satisfies Record<V3Version, string>;
