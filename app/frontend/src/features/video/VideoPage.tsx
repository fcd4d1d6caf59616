import { useEffect, useRef, useState } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import { ErrorState, Spinner } from '@/components/StatusViews';
import { describeDuration, formatDate, formatDuration, formatViews } from '@/lib/format';
import { useDocumentTitle } from '@/lib/useDocumentTitle';
import { NotFoundPage } from '@/components/NotFoundPage';
import { useRecordedView } from './useRecordedView';
import { useVideo } from './useVideo';
import { VideoPlayer } from './VideoPlayer';

function parseId(raw: string | undefined): number | null {
  if (!raw || !/^[1-9]\d{0,15}$/.test(raw)) return null;
  return Number(raw);
}

/**
 * Video detail on its own URL (/videos/:id). A playable video counts a view at each playback
 * start (the play request); opening one without media records one view.
 */
export function VideoPage() {
  const params = useParams();
  const id = parseId(params.id);
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '';
  const video = useVideo(id);
  const view = useRecordedView(video.status === 'success' && !video.video.playable ? id : null);
  const [played, setPlayed] = useState<{ id: number; views: number } | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useDocumentTitle(video.status === 'success' ? video.video.title : id === null ? 'Not found' : 'Video');

  useEffect(() => {
    if (video.status === 'success') headingRef.current?.focus();
  }, [video.status]);

  if (id === null || (video.status === 'error' && video.error.isNotFound)) {
    return <NotFoundPage title="Video not found" message="This video does not exist or is no longer available." />;
  }

  const back = (
    <Link to={`/${from}`} className="back-link">
      <span aria-hidden="true">←</span> Back to catalog
    </Link>
  );

  if (video.status === 'loading') {
    return (
      <section className="detail">
        {back}
        <Spinner label="Loading video…" />
      </section>
    );
  }
  if (video.status === 'error') {
    return (
      <section className="detail">
        {back}
        <ErrorState title="We couldn't load this video" message={video.error.message} onRetry={video.reload} />
      </section>
    );
  }

  const v = video.video;
  const views = played?.id === v.id ? played.views : view.status === 'recorded' ? view.views : v.views;
  const counting = !v.playable && view.status === 'pending';
  return (
    <article className="detail" aria-labelledby="video-title">
      {back}
      <div className="detail__layout">
        <div className="detail__media">
          <VideoPlayer key={v.id} video={v} onViews={(total) => setPlayed({ id: v.id, views: total })} />
        </div>
        <div className="detail__info">
          <p className="eyebrow">{v.category_name}</p>
          <h1 id="video-title" className="page-title" tabIndex={-1} ref={headingRef}>
            {v.title}
          </h1>
          <dl className="facts">
            <div>
              <dt>Duration</dt>
              <dd>
                <span aria-hidden="true">{formatDuration(v.duration_seconds)}</span>
                <span className="sr-only">{describeDuration(v.duration_seconds)}</span>
              </dd>
            </div>
            <div>
              <dt>Published</dt>
              <dd>
                <time dateTime={v.published_at}>{formatDate(v.published_at)}</time>
              </dd>
            </div>
            <div>
              <dt>Views</dt>
              <dd>
                <span data-testid="view-count" aria-live="polite" aria-busy={counting}>
                  {formatViews(views)}
                </span>
              </dd>
            </div>
          </dl>
          {!v.playable && view.status === 'failed' && (
            <p className="field__hint" role="status">
              Your view could not be counted right now.
            </p>
          )}
          <p className="detail__description">{v.description}</p>
        </div>
      </div>
    </article>
  );
}
