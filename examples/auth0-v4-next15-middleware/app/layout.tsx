import Link from 'next/link';
import type { ReactNode } from 'react';

export const metadata = { title: 'nextjs-auth-otel: auth0 v4 + Next 15 middleware.ts (Node.js runtime) example' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <nav>
          <Link href="/">Home</Link> · <Link href="/dashboard">Dashboard</Link> ·{' '}
          <Link href="/client-token">Token</Link>{' '}
          · <a href="/auth/login">Log in</a> · <a href="/auth/logout">Log out</a>
        </nav>
        <main>{children}</main>
      </body>
    </html>
  );
}
