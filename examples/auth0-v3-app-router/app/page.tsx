import { getSession } from '../lib/auth0';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const session = await getSession();
  return (
    <>
      {/* A browser-level prefetch: Chromium sends `Sec-Purpose: prefetch`, which reaches the middleware. */}
      <link rel="prefetch" href="/profile?via=link-rel-prefetch" />
      <h1>Home</h1>
      <p id="who">{session ? `Signed in as ${String(session.user.name ?? session.user.sub)}` : 'Not signed in'}</p>
    </>
  );
}
