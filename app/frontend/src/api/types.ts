/** Shapes of the catalog API (see the shared API contract). */

export interface Video {
  id: number;
  title: string;
  description: string;
  category: string;
  category_name: string;
  duration_seconds: number;
  views: number;
  published_at: string;
  /** True when the video has published media (start it with startPlayback). */
  playable: boolean;
  /** Poster image under /media/ (public); null without media. */
  poster_url: string | null;
}

/** POST /api/videos/:id/play: the view is counted and signed cookies for /media/<id>/ are set. */
export interface PlaybackGrant {
  id: number;
  views: number;
  manifest_url: string;
  poster_url: string;
  expires_at: string;
}

export interface Category {
  slug: string;
  name: string;
  video_count: number;
}

export interface VideoPage {
  items: Video[];
  next_cursor: string | null;
}

export interface ViewCount {
  id: number;
  views: number;
}

export interface ListVideosParams {
  q?: string;
  category?: string;
  cursor?: string | null;
  limit?: number;
}
