import type { Category, Video } from '@/api/types';

export const categories: Category[] = [
  { slug: 'documentary', name: 'Documentary', video_count: 30 },
  { slug: 'music', name: 'Music', video_count: 15 },
];

export function makeVideo(id: number, overrides: Partial<Video> = {}): Video {
  const music = id % 2 === 0;
  return {
    id,
    title: `Video number ${id}`,
    description: `Description of video ${id}.`,
    category: music ? 'music' : 'documentary',
    category_name: music ? 'Music' : 'Documentary',
    duration_seconds: 60 * id + 5,
    views: 100 + id,
    published_at: '2025-03-01T12:00:00Z',
    playable: false,
    poster_url: null,
    ...overrides,
  };
}

/** 45 videos, newest (highest id) first, like the API's order. */
export const catalog: Video[] = Array.from({ length: 45 }, (_, i) => makeVideo(45 - i));
catalog[0] = makeVideo(45, { title: 'Ocean Depths' });
catalog[1] = makeVideo(44, { title: 'Ocean Voices' });
/** The one video with media in the fixtures. */
export const PLAYABLE_ID = 43;
catalog[2] = makeVideo(PLAYABLE_ID, { title: 'Playable Clip', playable: true, poster_url: '/media/43/h0123456789ab/poster.jpg' });
