import { useEffect, useState } from 'react';
import { ApiError, getVideo, isAbortError } from '@/api/client';
import type { Video } from '@/api/types';

type VideoState =
  | { status: 'loading' }
  | { status: 'success'; video: Video }
  | { status: 'error'; error: ApiError };

export function useVideo(id: number | null) {
  const [reloadToken, setReloadToken] = useState(0);
  const [state, setState] = useState<{ key: string; value: VideoState }>({ key: '', value: { status: 'loading' } });
  const key = `${id}:${reloadToken}`;

  useEffect(() => {
    if (id === null) return;
    const controller = new AbortController();
    getVideo(id, controller.signal).then(
      (video) => setState({ key, value: { status: 'success', video } }),
      (error: unknown) => {
        if (isAbortError(error)) return;
        const apiError = error instanceof ApiError ? error : new ApiError(0, 'unknown_error', 'Something went wrong.');
        setState({ key, value: { status: 'error', error: apiError } });
      },
    );
    return () => controller.abort();
  }, [id, key]);

  const value: VideoState = state.key === key ? state.value : { status: 'loading' };
  return { ...value, reload: () => setReloadToken((n) => n + 1) } as VideoState & { reload: () => void };
}
