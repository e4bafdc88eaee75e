export default function Home() {
  return (
    <main>
      <h1>authjs-v5</h1>
      <p>
        <a href="/dashboard">Dashboard</a> · <a href="/api/me">/api/me</a> · <a href="/api/auth/session">/api/auth/session</a>
      </p>
    </main>
  );
}
