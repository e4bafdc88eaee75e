export default function Home() {
  return (
    <main>
      <h1>next-auth-rotation</h1>
      <p>
        <a href="/api/auth/signin?callbackUrl=/rsc">Sign in</a> · <a href="/rsc">Server Component</a> ·{' '}
        <a href="/api/auth/session">/api/auth/session</a>
      </p>
    </main>
  );
}
