import { useEffect, useRef, useState } from 'react';
import type Hls from 'hls.js';
import { ApiError, startPlayback } from '@/api/client';
import type { Video } from '@/api/types';
import { Poster } from '@/components/Poster';

type PlayerState =
  | { status: 'idle' }
  | { status: 'starting' }
  | { status: 'started' }
  | { status: 'error'; message: string };

interface Quality {
  index: number;
  label: string;
}

const HLS_MIME = 'application/vnd.apple.mpegurl';

/** True where Media Source Extensions exist, so hls.js can feed the video element. */
function hasMediaSource(): boolean {
  return typeof window !== 'undefined' && ('MediaSource' in window || 'ManagedMediaSource' in window);
}

interface Props {
  video: Video;
  /** Called with the new total when a playback start was counted. */
  onViews: (views: number) => void;
}

/** The video's player, or its "not available" state when it has no media. */
export function VideoPlayer({ video, onViews }: Props) {
  if (!video.playable) {
    return (
      <div className="player" data-testid="player" data-state="unavailable">
        <Poster id={video.id} title={video.title} size="hero" />
        <div className="player__overlay" role="status">
          <p>
            <strong>Not available</strong>
            <br />
            This video can't be played yet.
          </p>
        </div>
      </div>
    );
  }
  return <HlsPlayer video={video} onViews={onViews} />;
}

/**
 * Adaptive HLS: hls.js where Media Source Extensions exist, the browser's own HLS otherwise
 * (Safari on iOS). Pressing Play asks the API for the entitlement (one counted view), then loads
 * the master playlist; the signed cookies it set cover every playlist and segment of this video.
 */
function HlsPlayer({ video, onViews }: Props) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const hlsRef = useRef<Hls | null>(null);
  const [state, setState] = useState<PlayerState>({ status: 'idle' });
  const [levels, setLevels] = useState<Quality[]>([]);
  const [level, setLevel] = useState(-1);

  useEffect(
    () => () => {
      hlsRef.current?.destroy();
      hlsRef.current = null;
    },
    [],
  );

  const fail = (message: string) => {
    hlsRef.current?.destroy();
    hlsRef.current = null;
    setLevels([]);
    setState({ status: 'error', message });
  };

  const attach = async (element: HTMLVideoElement, url: string) => {
    if (hasMediaSource()) {
      const { default: HlsJs } = await import('hls.js');
      if (HlsJs.isSupported()) {
        // No worker: the page's CSP allows scripts from 'self' only (a worker would be a blob: URL).
        const hls = new HlsJs({ enableWorker: false });
        hlsRef.current = hls;
        let recovered = false;
        hls.on(HlsJs.Events.MANIFEST_PARSED, (_event, data) => {
          setLevels(data.levels.map((l, index) => ({ index, label: `${l.height}p` })));
          element.play().catch(() => undefined); // blocked autoplay: the controls are there
        });
        hls.on(HlsJs.Events.ERROR, (_event, data) => {
          if (!data.fatal) return;
          if (data.type === HlsJs.ErrorTypes.MEDIA_ERROR && !recovered) {
            recovered = true;
            hls.recoverMediaError();
            return;
          }
          const status = data.response?.code;
          fail(
            status === 403
              ? 'Your access to this video has expired. Start it again to continue.'
              : 'The video stopped loading. Check your connection and try again.',
          );
        });
        hls.loadSource(url);
        hls.attachMedia(element);
        return;
      }
    }
    if (element.canPlayType(HLS_MIME)) {
      element.src = url;
      element.play().catch(() => undefined);
      return;
    }
    throw new Error('This browser cannot play streaming video.');
  };

  const start = async () => {
    if (state.status === 'starting') return;
    setState({ status: 'starting' });
    hlsRef.current?.destroy();
    hlsRef.current = null;
    try {
      const grant = await startPlayback(video.id);
      onViews(grant.views);
      const element = videoRef.current;
      if (!element) return;
      await attach(element, grant.manifest_url);
      setState({ status: 'started' });
      element.focus();
    } catch (error) {
      fail(
        error instanceof ApiError && error.code === 'not_playable'
          ? "This video can't be played yet."
          : error instanceof Error
            ? error.message
            : 'Something went wrong.',
      );
    }
  };

  const chooseLevel = (value: number) => {
    setLevel(value);
    if (hlsRef.current) hlsRef.current.currentLevel = value;
  };

  return (
    <div>
      <div className="player" data-testid="player" data-state={state.status}>
        <video
          ref={videoRef}
          className="player__video"
          controls={state.status === 'started'}
          playsInline
          preload="none"
          // Focus lands here once playback starts (the Play button is gone); keys then drive the controls.
          tabIndex={0}
          poster={video.poster_url ?? undefined}
          aria-label={`Video: ${video.title}`}
          onError={() => state.status === 'started' && !hlsRef.current && fail('The video could not be played.')}
        />
        {state.status === 'idle' && (
          <button type="button" className="player__start" onClick={start} aria-label={`Play ${video.title}`}>
            <span className="player__start-icon" aria-hidden="true">
              ▶
            </span>
          </button>
        )}
        {state.status === 'starting' && (
          <div className="player__overlay" role="status">
            <span className="spinner" aria-hidden="true" />
            <span className="sr-only">Loading video…</span>
          </div>
        )}
        {state.status === 'error' && (
          <div className="player__overlay" role="alert">
            <div>
              <p>{state.message}</p>
              <button type="button" className="button" onClick={start}>
                Try again
              </button>
            </div>
          </div>
        )}
      </div>
      {levels.length > 1 && (
        <div className="player__bar">
          <label htmlFor={`quality-${video.id}`}>Quality</label>
          <select
            id={`quality-${video.id}`}
            value={level}
            onChange={(event) => chooseLevel(Number(event.target.value))}
            data-testid="quality"
          >
            <option value={-1}>Auto</option>
            {levels.map((q) => (
              <option key={q.index} value={q.index}>
                {q.label}
              </option>
            ))}
          </select>
        </div>
      )}
    </div>
  );
}
