import type { CSSProperties } from 'react';
import { posterHues } from '../lib/format';

/** A gradient poster derived from the id: no image requests, stable per video. */
export function Poster({ id, title, size = 'card' }: { id: number; title: string; size?: 'card' | 'hero' }) {
  const { from, to } = posterHues(id);
  const style = { '--poster-from': from, '--poster-to': to } as CSSProperties;
  const initial = title.trim().charAt(0).toUpperCase() || '?';
  return (
    <div className={`poster poster--${size}`} style={style} aria-hidden="true" data-testid="poster">
      <span className="poster__initial">{initial}</span>
    </div>
  );
}
