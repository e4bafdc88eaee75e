// A route handler reading the session through `auth`: the jwt callback refreshes here, and the
// rotated token reaches the browser in the response's Set-Cookie.
import { auth } from '../../../auth';

export const dynamic = 'force-dynamic';

export const GET = auth((req) => {
  const session = req.auth as { error?: string; user?: { name?: string | null } } | null;
  return Response.json({ user: session?.user?.name ?? null, error: session?.error ?? null });
});
