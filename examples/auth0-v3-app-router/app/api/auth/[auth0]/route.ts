import { handleAuth } from '../../../../lib/auth0';

export const GET = handleAuth();
