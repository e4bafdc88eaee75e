// Liveness for kube-probe and the like; no auth, outside the proxy matcher.
export const dynamic = 'force-dynamic';

export function GET(): Response {
  return Response.json({ status: 'ok' });
}
