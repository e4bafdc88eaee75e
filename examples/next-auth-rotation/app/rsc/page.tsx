// A Server Component reading the session: the rotation's jwt callback refreshes here, but a Server
// Component cannot set cookies (getServerSession's cookie writer is a no-op), so the rotated refresh
// token is lost and the next render presents the old one again (next-auth #7558).
import { getServerSession } from 'next-auth';
import { authOptions } from '../../lib/auth';

export const dynamic = 'force-dynamic';

export default async function ServerComponentPage() {
  const session = (await getServerSession(authOptions)) as { error?: string; user?: { name?: string | null } } | null;
  return (
    <main>
      <h1>Server Component</h1>
      <p id="user">{session?.user?.name ?? 'signed out'}</p>
      <p id="error">{session?.error ?? 'none'}</p>
    </main>
  );
}
