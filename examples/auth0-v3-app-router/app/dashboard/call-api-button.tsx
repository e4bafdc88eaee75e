'use client';

import { useState } from 'react';
import { callApi } from './actions';

export function CallApiButton() {
  const [result, setResult] = useState('');
  return (
    <>
      <button
        id="call-api"
        onClick={async () => {
          try {
            const r = await callApi();
            setResult(r.ok ? `api ok (${r.tokenLength})` : 'api: no token');
          } catch {
            setResult('api failed');
          }
        }}
      >
        Call API
      </button>
      <p id="api-result">{result}</p>
    </>
  );
}
