import { useState, type CSSProperties } from 'react';
import { posterHues } from '@/lib/format';

interface Props {
  id: number;
  title: string;
  size?: 'card' | 'hero';
  /** The video's poster image; the gradient shows while there is none or it fails to load. */
  src?: string | null;
}

/** The video's poster image, over a gradient derived from the id (the fallback, stable per video). */
export function Poster({ id, title, size = 'card', src }: Props) {
  const [failed, setFailed] = useState<string | null>(null);
  const { from, to } = posterHues(id);
  const style = { '--poster-from': from, '--poster-to': to } as CSSProperties;
  const initial = title.trim().charAt(0).toUpperCase() || '?';
  const showImage = Boolean(src) && failed !== src;
  return (
    <div className={`poster poster--${size}`} style={style} aria-hidden="true" data-testid="poster">
      {showImage ? (
        <img className="poster__image" src={src!} alt="" loading="lazy" decoding="async" onError={() => setFailed(src!)} />
      ) : (
        <span className="poster__initial">{initial}</span>
      )}
    </div>
  );
}
