// pages/api/auth/[auth0].js: /api/auth/login, /callback, /logout and /me, from the instrumented module.
import { handleAuth } from '../../../lib/auth0';

export default handleAuth();
