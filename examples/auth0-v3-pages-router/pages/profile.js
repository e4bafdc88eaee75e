// A protected page: withPageAuthRequired redirects to the login without a session, else runs
// getServerSideProps with one and adds `user` to the props.
import { useEffect, useState } from 'react';
import { getSession, withPageAuthRequired } from '../lib/auth0';

export default function Profile({ user, accessTokenExpiresAt }) {
  const [hydrated, setHydrated] = useState(false);
  const [result, setResult] = useState({ calls: 0, text: '' });
  useEffect(() => setHydrated(true), []);
  async function callApi() {
    const response = await fetch('/api/token');
    // A failed refresh is an error page, not JSON.
    const body = await response.json().catch(() => ({}));
    setResult(({ calls }) => ({ calls: calls + 1, text: `${response.status} ${body.token ?? body.error ?? 'error'}` }));
  }
  return (
    <main>
      <h1 id="name">{user.name}</h1>
      <p id="expires-at">{accessTokenExpiresAt}</p>
      <button id="call-api" onClick={callApi} disabled={!hydrated}>
        Call the API
      </button>
      <p id="api-result" data-calls={result.calls}>
        {result.text}
      </p>
    </main>
  );
}

export const getServerSideProps = withPageAuthRequired({
  async getServerSideProps({ req, res }) {
    const session = await getSession(req, res);
    return { props: { accessTokenExpiresAt: session?.accessTokenExpiresAt ?? null } };
  },
});
