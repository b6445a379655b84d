import { useEffect, useState } from 'react';

export interface Resource<T> {
  value?: T;
  error?: string;
  loading: boolean;
}

interface Settled<T> {
  load: () => Promise<T>;
  value?: T;
  error?: string;
}

/**
 * Loads a backend resource whenever load changes (memoize it), ignoring answers that arrive after
 * unmount or after load changed again.
 */
export function useResource<T>(load: () => Promise<T>): Resource<T> {
  const [settled, setSettled] = useState<Settled<T>>();
  useEffect(() => {
    let live = true;
    load().then(
      (value) => live && setSettled({ load, value }),
      (err: unknown) => live && setSettled({ load, error: errorMessage(err) })
    );
    return () => {
      live = false;
    };
  }, [load]);
  if (settled?.load !== load) {
    return { loading: true };
  }
  return { value: settled.value, error: settled.error, loading: false };
}

function errorMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { data?: { message?: string }; message?: string; statusText?: string };
    return e.data?.message ?? e.message ?? e.statusText ?? 'request failed';
  }
  return String(err);
}
