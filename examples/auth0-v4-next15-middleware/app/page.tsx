import { auth0 } from '../lib/auth0-v4';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const session = await auth0.getSession();
  return <p id="state">{session ? 'signed in' : 'signed out'}</p>;
}
