// A Server Component reading the session with `auth()`. The middleware has already read (and, with
// an expired access token, refreshed) the session for this request, but the page still sees the
// request's old cookie, so its own jwt callback presents the refresh token the middleware just
// rotated away.
import { auth } from '../../auth';

export const dynamic = 'force-dynamic';

export default async function Dashboard() {
  const session = (await auth()) as { error?: string; user?: { name?: string | null } } | null;
  return (
    <main>
      <h1>Dashboard</h1>
      <p id="user">{session?.user?.name ?? 'signed out'}</p>
      <p id="error">{session?.error ?? 'none'}</p>
    </main>
  );
}
