// auth.ts: Auth.js v5 as its users write it; the configuration is the instrumented one.
import NextAuth from 'next-auth';
import { authConfig } from './auth.config';

export const { handlers, auth, signIn, signOut } = NextAuth(authConfig);
