import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { catalog, categories } from './fixtures';

/**
 * An in-memory stand-in for the catalog API at the fetch boundary. Cursors are
 * opaque strings, as in the contract; here they encode an offset.
 */
export const requests: { method: string; url: URL; contentType: string | null; body: string }[] = [];
export const viewCounts = new Map<number, number>();

export const handlers = [
  http.get('/api/categories', () => HttpResponse.json({ items: categories })),

  http.get('/api/videos', ({ request }) => {
    const url = new URL(request.url);
    const limit = Number(url.searchParams.get('limit') ?? '20');
    const q = (url.searchParams.get('q') ?? '').toLowerCase();
    const category = url.searchParams.get('category');
    const offset = url.searchParams.get('cursor') ? Number(atob(url.searchParams.get('cursor')!)) : 0;
    const matching = catalog.filter(
      (v) => (!q || v.title.toLowerCase().includes(q)) && (!category || v.category === category),
    );
    const items = matching.slice(offset, offset + limit);
    const next = offset + limit < matching.length ? btoa(String(offset + limit)) : null;
    return HttpResponse.json({ items, next_cursor: next });
  }),

  http.get('/api/videos/:id', ({ params }) => {
    const video = catalog.find((v) => v.id === Number(params.id));
    if (!video) {
      return HttpResponse.json({ error: { code: 'not_found', message: 'Video not found.' } }, { status: 404 });
    }
    return HttpResponse.json({ ...video, views: viewCounts.get(video.id) ?? video.views });
  }),

  http.post('/api/videos/:id/views', async ({ request, params }) => {
    const id = Number(params.id);
    const video = catalog.find((v) => v.id === id);
    if (!video) {
      return HttpResponse.json({ error: { code: 'not_found', message: 'Video not found.' } }, { status: 404 });
    }
    if (!request.headers.get('content-type')?.startsWith('application/json')) {
      return HttpResponse.json(
        { error: { code: 'unsupported_media_type', message: 'Use application/json.' } },
        { status: 400 },
      );
    }
    const views = (viewCounts.get(id) ?? video.views) + 1;
    viewCounts.set(id, views);
    return HttpResponse.json({ id, views });
  }),

  http.post('/api/videos/:id/play', ({ params }) => {
    const id = Number(params.id);
    const video = catalog.find((v) => v.id === id);
    if (!video) {
      return HttpResponse.json({ error: { code: 'not_found', message: 'Video not found.' } }, { status: 404 });
    }
    if (!video.playable) {
      return HttpResponse.json({ error: { code: 'not_playable', message: 'No media.' } }, { status: 409 });
    }
    const views = (viewCounts.get(id) ?? video.views) + 1;
    viewCounts.set(id, views);
    const base = video.poster_url!.replace(/poster\.jpg$/, '');
    return HttpResponse.json({
      id,
      views,
      manifest_url: `${base}master.m3u8`,
      poster_url: video.poster_url,
      expires_at: '2030-01-01T00:00:00Z',
    });
  }),
];

export const server = setupServer(...handlers);

server.events.on('request:start', async ({ request }) => {
  requests.push({
    method: request.method,
    url: new URL(request.url),
    contentType: request.headers.get('content-type'),
    body: request.method === 'GET' ? '' : await request.clone().text(),
  });
});
