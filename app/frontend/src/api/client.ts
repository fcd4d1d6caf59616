import type { Category, ListVideosParams, PlaybackGrant, Video, VideoPage, ViewCount } from './types';

/**
 * The app only ever talks to relative /api paths: CloudFront (production) or the
 * dev/test proxy routes them to the backend, so one build serves every stage.
 */
export const API_BASE = '/api';

export const PAGE_SIZE = 20;

/** An API failure with the contract's error code, or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }
}

/** True for a fetch cancelled through its AbortSignal (any realm's DOMException). */
export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${API_BASE}${path}`, {
      ...init,
      headers: { Accept: 'application/json', ...init?.headers },
    });
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new ApiError(0, 'network_error', 'The service could not be reached. Check your connection and try again.');
  }

  let body: unknown = null;
  const text = await response.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }

  if (!response.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(
      response.status,
      err?.code ?? 'http_error',
      err?.message ?? `The service answered with status ${response.status}.`,
    );
  }
  if (body === null) {
    throw new ApiError(response.status, 'invalid_response', 'The service sent an unreadable answer.');
  }
  return body as T;
}

export function listVideos(params: ListVideosParams = {}, signal?: AbortSignal): Promise<VideoPage> {
  const search = new URLSearchParams();
  search.set('limit', String(params.limit ?? PAGE_SIZE));
  const q = params.q?.trim();
  if (q) search.set('q', q);
  if (params.category) search.set('category', params.category);
  if (params.cursor) search.set('cursor', params.cursor);
  return request<VideoPage>(`/videos?${search.toString()}`, { signal });
}

export function getVideo(id: number, signal?: AbortSignal): Promise<Video> {
  return request<Video>(`/videos/${encodeURIComponent(String(id))}`, { signal });
}

export async function listCategories(signal?: AbortSignal): Promise<Category[]> {
  const body = await request<{ items: Category[] }>('/categories', { signal });
  return body.items;
}

/** Records one view of a video; returns the new total. */
export function recordView(id: number): Promise<ViewCount> {
  return request<ViewCount>(`/videos/${encodeURIComponent(String(id))}/views`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
}

/**
 * Starts playback: counts one view and answers the master playlist URL. The
 * response sets the CloudFront cookies that entitle this browser to the video's media.
 */
export function startPlayback(id: number): Promise<PlaybackGrant> {
  return request<PlaybackGrant>(`/videos/${encodeURIComponent(String(id))}/play`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
    credentials: 'same-origin',
  });
}
