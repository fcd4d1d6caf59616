import { useEffect, useState } from 'react';
import { isAbortError, listCategories } from '@/api/client';
import type { Category } from '@/api/types';

/** Categories for the filter. A failure only leaves the filter with "All categories". */
export function useCategories() {
  const [categories, setCategories] = useState<Category[]>([]);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    listCategories(controller.signal).then(setCategories, (error: unknown) => {
      if (!isAbortError(error)) setFailed(true);
    });
    return () => controller.abort();
  }, []);

  return { categories, failed };
}
