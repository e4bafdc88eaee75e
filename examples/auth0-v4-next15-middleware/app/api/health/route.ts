// Liveness for kube-probe and the like; no auth, outside the middleware matcher.
export const dynamic = 'force-dynamic';

export function GET(): Response {
  return Response.json({ status: 'ok' });
}
