import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { renderApp } from '@/test/render';
import { PLAYABLE_ID } from '@/test/fixtures';
import { requests, server } from '@/test/server';

/**
 * hls.js itself is exercised in the browser tests (real Chromium, real segments). Here a
 * stand-in with the same surface records what the player asks of it and lets a test
 * fire its events.
 */
const hlsMock = vi.hoisted(() => {
  type Handler = (event: string, data: unknown) => void;
  class FakeHls {
    static instances: FakeHls[] = [];
    static supported = true;
    static isSupported = () => FakeHls.supported;
    static Events = { MANIFEST_PARSED: 'hlsManifestParsed', ERROR: 'hlsError' };
    static ErrorTypes = { MEDIA_ERROR: 'mediaError', NETWORK_ERROR: 'networkError' };
    config: unknown;
    handlers = new Map<string, Handler[]>();
    source: string | null = null;
    media: HTMLMediaElement | null = null;
    destroyed = false;
    recoveries = 0;
    currentLevel = -1;
    constructor(config: unknown) {
      this.config = config;
      FakeHls.instances.push(this);
    }
    on(event: string, handler: Handler) {
      this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    }
    emit(event: string, data: unknown) {
      for (const handler of this.handlers.get(event) ?? []) handler(event, data);
    }
    loadSource(url: string) {
      this.source = url;
    }
    attachMedia(media: HTMLMediaElement) {
      this.media = media;
    }
    recoverMediaError() {
      this.recoveries += 1;
    }
    destroy() {
      this.destroyed = true;
    }
  }
  return { FakeHls };
});
vi.mock('hls.js', () => ({ default: hlsMock.FakeHls }));
const { FakeHls } = hlsMock;

const playPosts = () => requests.filter((r) => r.method === 'POST' && r.url.pathname.endsWith('/play'));

beforeEach(() => {
  FakeHls.instances = [];
  FakeHls.supported = true;
  // jsdom has neither Media Source Extensions nor media playback.
  vi.stubGlobal('MediaSource', class {});
  vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
});
afterEach(() => vi.unstubAllGlobals());

async function pressPlay() {
  const view = renderApp(`/videos/${PLAYABLE_ID}`);
  await view.user.click(await screen.findByRole('button', { name: 'Play Playable Clip' }));
  await waitFor(() => expect(FakeHls.instances).toHaveLength(1));
  return { ...view, hls: FakeHls.instances[0] };
}

describe('VideoPlayer', () => {
  it('counts one view at the playback start and loads the manifest with hls.js', async () => {
    const { hls } = await pressPlay();
    expect(playPosts()).toHaveLength(1);
    expect(playPosts()[0]).toMatchObject({ contentType: 'application/json', body: '{}' });
    // Opening a playable video does not count a view by itself.
    expect(requests.filter((r) => r.url.pathname.endsWith('/views'))).toHaveLength(0);
    expect(hls.source).toBe(`/media/${PLAYABLE_ID}/h0123456789ab/master.m3u8`);
    expect(hls.media).toBe(screen.getByLabelText('Video: Playable Clip'));
    expect(hls.config).toMatchObject({ enableWorker: false });
    await waitFor(() => expect(screen.getByTestId('view-count')).toHaveTextContent(`${100 + PLAYABLE_ID + 1} views`));
    expect(screen.getByTestId('player')).toHaveAttribute('data-state', 'started');
    expect(screen.getByLabelText('Video: Playable Clip')).toHaveFocus();
  });

  it('offers the quality levels of the manifest, and Auto', async () => {
    const { hls, user } = await pressPlay();
    hls.emit(FakeHls.Events.MANIFEST_PARSED, { levels: [{ height: 360 }, { height: 240 }] });
    const select = await screen.findByRole('combobox', { name: 'Quality' });
    expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['Auto', '360p', '240p']);
    await user.selectOptions(select, '240p');
    expect(hls.currentLevel).toBe(1);
    expect(HTMLMediaElement.prototype.play).toHaveBeenCalled();
  });

  it('is operable from the keyboard', async () => {
    const { user } = renderApp(`/videos/${PLAYABLE_ID}`);
    const button = await screen.findByRole('button', { name: 'Play Playable Clip' });
    // The page moves focus to its heading once the video has loaded (an effect after that render):
    // let it, then focus the button, so the key press cannot land on the heading instead.
    await waitFor(() => expect(screen.getByRole('heading', { level: 1, name: 'Playable Clip' })).toHaveFocus());
    button.focus();
    expect(button).toHaveFocus();
    await user.keyboard('{Enter}');
    await waitFor(() => expect(FakeHls.instances).toHaveLength(1));
    expect(playPosts()).toHaveLength(1);
  });

  it('recovers once from a media error, then shows the error with a retry that starts again', async () => {
    const { hls, user } = await pressPlay();
    hls.emit(FakeHls.Events.ERROR, { fatal: true, type: FakeHls.ErrorTypes.MEDIA_ERROR });
    expect(hls.recoveries).toBe(1);
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    hls.emit(FakeHls.Events.ERROR, { fatal: true, type: FakeHls.ErrorTypes.NETWORK_ERROR, response: { code: 403 } });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Your access to this video has expired');
    expect(hls.destroyed).toBe(true);
    await user.click(within(alert).getByRole('button', { name: 'Try again' }));
    await waitFor(() => expect(FakeHls.instances).toHaveLength(2));
    expect(playPosts()).toHaveLength(2);
  });

  it('ignores non-fatal player errors', async () => {
    const { hls } = await pressPlay();
    hls.emit(FakeHls.Events.ERROR, { fatal: false, type: FakeHls.ErrorTypes.NETWORK_ERROR });
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(hls.destroyed).toBe(false);
  });

  it('uses native HLS where Media Source Extensions are missing', async () => {
    vi.unstubAllGlobals();
    vi.spyOn(HTMLMediaElement.prototype, 'canPlayType').mockImplementation((type) =>
      type === 'application/vnd.apple.mpegurl' ? 'maybe' : '',
    );
    const { user } = renderApp(`/videos/${PLAYABLE_ID}`);
    await user.click(await screen.findByRole('button', { name: 'Play Playable Clip' }));
    const video = screen.getByLabelText<HTMLVideoElement>('Video: Playable Clip');
    await waitFor(() => expect(video.getAttribute('src')).toBe(`/media/${PLAYABLE_ID}/h0123456789ab/master.m3u8`));
    expect(FakeHls.instances).toHaveLength(0);
  });

  it('says so when the browser can play neither', async () => {
    vi.unstubAllGlobals();
    const { user } = renderApp(`/videos/${PLAYABLE_ID}`);
    await user.click(await screen.findByRole('button', { name: 'Play Playable Clip' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This browser cannot play streaming video.');
  });

  it('shows the API error when playback cannot start, and counts nothing on screen', async () => {
    server.use(http.post('/api/videos/:id/play', () => HttpResponse.error(), { once: true }));
    const { user } = renderApp(`/videos/${PLAYABLE_ID}`);
    await user.click(await screen.findByRole('button', { name: 'Play Playable Clip' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The service could not be reached');
    expect(screen.getByTestId('view-count')).toHaveTextContent(`${100 + PLAYABLE_ID} views`);
  });

  it('shows "not available" for a video without media and records the page view instead', async () => {
    renderApp('/videos/45');
    const player = await screen.findByTestId('player');
    expect(player).toHaveAttribute('data-state', 'unavailable');
    expect(within(player).getByRole('status')).toHaveTextContent("Not available");
    expect(screen.queryByRole('button', { name: /^Play/ })).not.toBeInTheDocument();
    await waitFor(() => expect(requests.filter((r) => r.url.pathname === '/api/videos/45/views')).toHaveLength(1));
    expect(playPosts()).toHaveLength(0);
  });
});

describe('Poster', () => {
  it('shows the poster image on cards that have one and the gradient on the others', async () => {
    const { container } = renderApp('/');
    await screen.findByRole('link', { name: /Playable Clip/ });
    const images = container.querySelectorAll<HTMLImageElement>('.poster__image');
    expect([...images].map((img) => img.getAttribute('src'))).toEqual([`/media/${PLAYABLE_ID}/h0123456789ab/poster.jpg`]);
    expect(container.querySelectorAll('.poster__initial').length).toBeGreaterThan(10);
  });

  it('falls back to the gradient when the image fails', async () => {
    const { container } = renderApp('/');
    await screen.findByRole('link', { name: /Playable Clip/ });
    const image = container.querySelector<HTMLImageElement>('.poster__image')!;
    image.dispatchEvent(new Event('error'));
    await waitFor(() => expect(container.querySelector('.poster__image')).toBeNull());
  });
});
