// auth.ts: Auth.js v5 as its users write it, with the instrumented configuration.
import NextAuth from 'next-auth';
import { authConfig } from '../authjs-v5-config';

export const { handlers, auth, signIn, signOut } = NextAuth(authConfig);
