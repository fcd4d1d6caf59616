import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { EmptyState, ErrorState, Spinner } from '@/components/StatusViews';
import { useDocumentTitle } from '@/lib/useDocumentTitle';
import { useDebouncedValue } from '@/lib/useDebouncedValue';
import { formatCount } from '@/lib/format';
import { CatalogFilters } from './CatalogFilters';
import { VideoCard } from './VideoCard';
import { useCategories } from './useCategories';
import { useVideoList } from './useVideoList';

export const SEARCH_DEBOUNCE_MS = 300;

/** Catalog: search and category live in the URL (?q=&category=) so views can be shared. */
export function CatalogPage() {
  useDocumentTitle('Catalog');
  const [searchParams, setSearchParams] = useSearchParams();
  const q = searchParams.get('q') ?? '';
  const category = searchParams.get('category') ?? '';

  const [draft, setDraft] = useState(q);
  const debouncedDraft = useDebouncedValue(draft, SEARCH_DEBOUNCE_MS);

  // The URL can change under the page (the home link, back/forward): show its query.
  // Typing never lands here, since the URL only takes the settled draft.
  const [urlQ, setUrlQ] = useState(q);
  if (q !== urlQ) {
    setUrlQ(q);
    if (q !== draft.trim()) setDraft(q);
  }

  useEffect(() => {
    const next = debouncedDraft.trim();
    if (next === q) return;
    setSearchParams(
      (prev) => {
        const params = new URLSearchParams(prev);
        if (next) params.set('q', next);
        else params.delete('q');
        return params;
      },
      { replace: true },
    );
    // Only a settled draft updates the URL; q is read, not a trigger.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debouncedDraft]);

  const setCategory = (value: string) =>
    setSearchParams(
      (prev) => {
        const params = new URLSearchParams(prev);
        if (value) params.set('category', value);
        else params.delete('category');
        return params;
      },
      { replace: true },
    );

  const { categories, failed: categoriesFailed } = useCategories();
  const list = useVideoList(q, category);
  const from = searchParams.toString() ? `?${searchParams.toString()}` : '';

  // After "Load more", move focus to the first new video so keyboard users continue there.
  const cardRefs = useRef<(HTMLAnchorElement | null)[]>([]);
  useEffect(() => {
    if (list.appendedFrom !== null) cardRefs.current[list.appendedFrom]?.focus();
  }, [list.appendedFrom, list.items.length]);

  const filtered = Boolean(q || category);
  let announcement = '';
  if (list.status === 'loading') announcement = 'Loading videos…';
  else if (list.status === 'error') announcement = 'Videos could not be loaded.';
  else if (list.items.length === 0) announcement = 'No videos found.';
  else
    announcement = `Showing ${formatCount(list.items.length)} ${list.items.length === 1 ? 'video' : 'videos'}${
      list.nextCursor ? ', more available' : ''
    }.`;

  return (
    <section className="catalog" aria-labelledby="catalog-heading">
      <div className="catalog__header">
        <h1 id="catalog-heading" className="page-title" tabIndex={-1}>
          Browse the catalog
        </h1>
        <CatalogFilters
          query={draft}
          onQueryChange={setDraft}
          category={category}
          onCategoryChange={setCategory}
          categories={categories}
          categoriesFailed={categoriesFailed}
        />
      </div>

      <p className="results-count" role="status" aria-live="polite" aria-atomic="true" data-testid="results-count">
        {announcement}
      </p>

      {list.status === 'loading' && <Spinner label="Loading videos…" announce={false} />}

      {list.status === 'error' && list.error && (
        <ErrorState title="We couldn't load the catalog" message={list.error.message} onRetry={list.reload} />
      )}

      {list.status === 'success' && list.items.length === 0 && (
        <EmptyState title={filtered ? 'No videos match your search' : 'The catalog is empty'}>
          {filtered && (
            <button
              type="button"
              className="button button--ghost"
              onClick={() => {
                setDraft('');
                setSearchParams(new URLSearchParams(), { replace: true });
              }}
            >
              Clear search and filter
            </button>
          )}
        </EmptyState>
      )}

      {list.status === 'success' && list.items.length > 0 && (
        <>
          <ul className="grid" aria-labelledby="catalog-heading" aria-busy={list.loadingMore}>
            {list.items.map((video, index) => (
              <VideoCard
                key={video.id}
                video={video}
                from={from}
                ref={(el) => {
                  cardRefs.current[index] = el;
                }}
              />
            ))}
          </ul>
          <div className="load-more">
            {list.loadMoreError && (
              <p className="load-more__error" role="alert">
                {list.loadMoreError.message}
              </p>
            )}
            {list.nextCursor ? (
              <button
                type="button"
                className="button"
                onClick={list.loadMore}
                aria-disabled={list.loadingMore}
              >
                {list.loadingMore ? 'Loading…' : list.loadMoreError ? 'Try loading more again' : 'Load more'}
              </button>
            ) : (
              <p className="load-more__end">You have reached the end of the list.</p>
            )}
          </div>
        </>
      )}
    </section>
  );
}
