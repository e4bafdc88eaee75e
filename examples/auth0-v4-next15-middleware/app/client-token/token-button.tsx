'use client';

import { useState } from 'react';
import { getAccessToken } from '@auth0/nextjs-auth0';

export function TokenButton() {
  const [state, setState] = useState('idle');
  const fetchToken = async () => {
    setState('fetching');
    try {
      const token = await getAccessToken();
      setState(`token ${token.length > 0 ? 'received' : 'empty'}`);
    } catch (error) {
      setState(`error ${(error as { code?: string }).code ?? String(error)}`);
    }
  };
  return (
    <section>
      <button id="get-token" onClick={fetchToken}>
        Get access token
      </button>
      <p id="client-token-state">{state}</p>
    </section>
  );
}
