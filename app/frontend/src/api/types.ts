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
