import Link from 'next/link';
import type { ReactNode } from 'react';

export const metadata = { title: 'nextjs-auth-otel: auth0 v3 App Router example' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <nav>
          <Link href="/">Home</Link> · <Link href="/profile">Profile</Link> · <Link href="/dashboard">Dashboard</Link> ·{' '}
          <Link href="/token" prefetch={false}>
            Token (Server Component)
          </Link>{' '}
          · <a href="/api/auth/login">Log in</a> · <a href="/api/auth/logout">Log out</a>
        </nav>
        <main>{children}</main>
      </body>
    </html>
  );
}
