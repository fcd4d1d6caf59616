import { useEffect, useRef, useState } from 'react';
import { recordView } from '@/api/client';
import type { ViewCount } from '@/api/types';

type ViewState = { status: 'pending' } | { status: 'recorded'; views: number } | { status: 'failed' };

/**
 * Records one view when a video is opened and returns the new total.
 * The request is shared through a ref, so React's development double-run of
 * effects does not count the view twice.
 */
export function useRecordedView(id: number | null): ViewState {
  const inFlight = useRef<{ id: number; promise: Promise<ViewCount> } | null>(null);
  const [state, setState] = useState<{ id: number | null; view: ViewState }>({ id, view: { status: 'pending' } });

  useEffect(() => {
    if (id === null) return;
    if (inFlight.current?.id !== id) inFlight.current = { id, promise: recordView(id) };
    let active = true;
    inFlight.current.promise.then(
      (result) => active && setState({ id, view: { status: 'recorded', views: result.views } }),
      () => active && setState({ id, view: { status: 'failed' } }),
    );
    return () => {
      active = false;
    };
  }, [id]);

  return state.id === id ? state.view : { status: 'pending' };
}
