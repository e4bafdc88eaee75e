'use server';

import { getAccessToken } from '../../lib/auth0';

/** Calls "the API" with the user's access token. Server actions can write cookies, so a refresh here is saved. */
export async function callApi(): Promise<{ ok: boolean; tokenLength: number }> {
  const { accessToken } = await getAccessToken();
  return { ok: Boolean(accessToken), tokenLength: accessToken?.length ?? 0 };
}
