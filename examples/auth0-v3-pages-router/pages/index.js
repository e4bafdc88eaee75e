import Link from 'next/link';

export default function Home() {
  return (
    <main>
      <h1>nextjs-auth0 v3, Pages Router</h1>
      <Link href="/profile">Profile</Link>
    </main>
  );
}
