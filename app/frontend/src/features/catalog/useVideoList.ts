import { useCallback, useEffect, useReducer, useRef } from 'react';
import { ApiError, isAbortError as isAbort, listVideos } from '@/api/client';
import type { Video } from '@/api/types';

export type ListStatus = 'loading' | 'success' | 'error';

interface State {
  status: ListStatus;
  items: Video[];
  nextCursor: string | null;
  error: ApiError | null;
  loadingMore: boolean;
  loadMoreError: ApiError | null;
  /** Index of the first item added by the last "load more", for focus management. */
  appendedFrom: number | null;
}

type Action =
  | { type: 'reset' }
  | { type: 'loaded'; items: Video[]; nextCursor: string | null }
  | { type: 'failed'; error: ApiError }
  | { type: 'moreStarted' }
  | { type: 'moreLoaded'; items: Video[]; nextCursor: string | null }
  | { type: 'moreFailed'; error: ApiError };

const initialState: State = {
  status: 'loading',
  items: [],
  nextCursor: null,
  error: null,
  loadingMore: false,
  loadMoreError: null,
  appendedFrom: null,
};

function reducer(state: State, action: Action): State {
  switch (action.type) {
    case 'reset':
      return initialState;
    case 'loaded':
      return { ...initialState, status: 'success', items: action.items, nextCursor: action.nextCursor };
    case 'failed':
      return { ...initialState, status: 'error', error: action.error };
    case 'moreStarted':
      return { ...state, loadingMore: true, loadMoreError: null };
    case 'moreLoaded': {
      // The API pages by cursor, but never show a video twice if the catalog shifted.
      const seen = new Set(state.items.map((v) => v.id));
      const fresh = action.items.filter((v) => !seen.has(v.id));
      return {
        ...state,
        items: [...state.items, ...fresh],
        nextCursor: action.nextCursor,
        loadingMore: false,
        appendedFrom: fresh.length ? state.items.length : null,
      };
    }
    case 'moreFailed':
      return { ...state, loadingMore: false, loadMoreError: action.error };
  }
}

function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'unknown_error', 'Something went wrong.');
}

/** The catalog list for a query and category, with cursor-driven "load more". */
export function useVideoList(q: string, category: string) {
  const [state, dispatch] = useReducer(reducer, initialState);
  const [reloadToken, reload] = useReducer((n: number) => n + 1, 0);
  const moreController = useRef<AbortController | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    moreController.current?.abort();
    dispatch({ type: 'reset' });
    listVideos({ q, category }, controller.signal).then(
      (page) => dispatch({ type: 'loaded', items: page.items, nextCursor: page.next_cursor }),
      (error: unknown) => {
        if (!isAbort(error)) dispatch({ type: 'failed', error: toApiError(error) });
      },
    );
    return () => controller.abort();
  }, [q, category, reloadToken]);

  const { nextCursor, loadingMore } = state;
  const loadMore = useCallback(() => {
    if (!nextCursor || loadingMore) return;
    const controller = new AbortController();
    moreController.current = controller;
    dispatch({ type: 'moreStarted' });
    listVideos({ q, category, cursor: nextCursor }, controller.signal).then(
      (page) => dispatch({ type: 'moreLoaded', items: page.items, nextCursor: page.next_cursor }),
      (error: unknown) => {
        if (!isAbort(error)) dispatch({ type: 'moreFailed', error: toApiError(error) });
      },
    );
  }, [q, category, nextCursor, loadingMore]);

  useEffect(() => () => moreController.current?.abort(), []);

  return { ...state, loadMore, reload };
}
