import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { requests, server } from '@/test/server';
import { ApiError, getVideo, listCategories, listVideos, recordView } from './client';

describe('API client', () => {
  it('lists videos from the relative /api path with limit, q, category and cursor', async () => {
    const page = await listVideos({ q: ' ocean ', category: 'documentary' });
    expect(page.items.map((v) => v.title)).toEqual(['Ocean Depths']);
    expect(page.next_cursor).toBeNull();

    const url = requests[0].url;
    expect(url.pathname).toBe('/api/videos');
    expect(Object.fromEntries(url.searchParams)).toEqual({ limit: '20', q: 'ocean', category: 'documentary' });
  });

  it('passes the opaque cursor back unchanged and omits empty filters', async () => {
    const first = await listVideos();
    expect(first.items).toHaveLength(20);
    expect(first.next_cursor).toEqual(expect.any(String));
    await listVideos({ cursor: first.next_cursor });
    expect(Object.fromEntries(requests[1].url.searchParams)).toEqual({ limit: '20', cursor: first.next_cursor });
  });

  it('reads categories and a single video', async () => {
    expect((await listCategories()).map((c) => c.slug)).toEqual(['documentary', 'music']);
    expect((await getVideo(45)).title).toBe('Ocean Depths');
  });

  it('records a view with POST, Content-Type application/json and an empty JSON object', async () => {
    await expect(recordView(45)).resolves.toEqual({ id: 45, views: 146 });
    expect(requests[0]).toMatchObject({ method: 'POST', contentType: 'application/json', body: '{}' });
    expect(requests[0].url.pathname).toBe('/api/videos/45/views');
  });

  it('turns the contract error body into an ApiError', async () => {
    const error = await getVideo(9999).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', message: 'Video not found.', isNotFound: true });
  });

  it('copes with an error that is not JSON (e.g. a proxy page)', async () => {
    server.use(http.get('/api/videos', () => new HttpResponse('<html>Bad gateway</html>', { status: 502 })));
    await expect(listVideos()).rejects.toMatchObject({ status: 502, code: 'http_error' });
  });

  it('reports a network failure as status 0', async () => {
    server.use(http.get('/api/categories', () => HttpResponse.error()));
    await expect(listCategories()).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('lets an abort through as an AbortError', async () => {
    const controller = new AbortController();
    const pending = listVideos({}, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
