import { getSession, withPageAuthRequired } from '../../lib/auth0';

export default withPageAuthRequired(
  async function Profile() {
    const session = await getSession();
    return (
      <>
        <h1>Profile</h1>
        <p id="name">{String(session?.user.name ?? '')}</p>
      </>
    );
  },
  { returnTo: '/profile' },
);
