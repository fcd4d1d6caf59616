import type { Ref } from 'react';
import { Link } from 'react-router';
import type { Video } from '@/api/types';
import { Poster } from '@/components/Poster';
import { describeDuration, formatDuration } from '@/lib/format';

interface Props {
  video: Video;
  /** The catalog's query string, so "Back to catalog" restores the search. */
  from: string;
  ref?: Ref<HTMLAnchorElement>;
}

export function VideoCard({ video, from, ref }: Props) {
  return (
    <li className="card">
      <Link ref={ref} to={`/videos/${video.id}`} state={{ from }} className="card__link">
        <div className="card__media">
          <Poster id={video.id} title={video.title} src={video.poster_url} />
          <span className="badge badge--duration">
            <span aria-hidden="true">{formatDuration(video.duration_seconds)}</span>
            <span className="sr-only">, duration {describeDuration(video.duration_seconds)}</span>
          </span>
        </div>
        <div className="card__body">
          <h3 className="card__title">{video.title}</h3>
          <p className="card__meta">
            <span className="sr-only">Category: </span>
            {video.category_name}
          </p>
        </div>
      </Link>
    </li>
  );
}
