import { redirect } from 'next/navigation';
import { auth0 } from '../../lib/auth0-v4';

export const dynamic = 'force-dynamic';

// A protected page: without a session, off to the SDK's login route.
export default async function Dashboard() {
  const session = await auth0.getSession();
  if (!session) redirect('/auth/login?returnTo=/dashboard');
  return (
    <section>
      <h1>Dashboard</h1>
      <p id="name">{String(session.user.name ?? '')}</p>
    </section>
  );
}
