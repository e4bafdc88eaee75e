import { getSession, withPageAuthRequired } from '../../lib/auth0';
import { CallApiButton } from './call-api-button';

export default withPageAuthRequired(
  async function Dashboard() {
    const session = await getSession();
    return (
      <>
        <h1>Dashboard</h1>
        <p id="sub-present">{session ? 'session' : 'no session'}</p>
        <CallApiButton />
      </>
    );
  },
  { returnTo: '/dashboard' },
);
