import { getSession } from '../lib/auth0';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const session = await getSession();
  return (
    <>
      <h1>Home</h1>
      <p id="who">{session ? `Signed in as ${String(session.user.name ?? session.user.sub)}` : 'Not signed in'}</p>
    </>
  );
}
