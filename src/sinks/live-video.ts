import path from 'node:path';
import type { FrameDetections } from '../detection.js';
import type { PipelineEvent } from '../records.js';
import { openAnnotatedVideo } from './annotated-video.js';
import type { Sink } from './sink.js';

/** Frame rate assumed for a live source until its stream says (a 'streaming' status record). */
export const DEFAULT_LIVE_FPS = 25;

/** Options of openLiveVideo. */
export interface LiveVideoOptions {
  /** Target .mp4; later segments (after a resolution change) are numbered: cam.1.mp4, cam.2.mp4. */
  path: string;
  ffmpegPath?: string;
}

/**
 * The annotated video of one live source. Its size and frame rate are only known once the camera
 * streams, and may change when it reconnects, so the encoder starts with the first frame and a
 * change of size finalizes the current file and starts the next segment. Frames the scheduler
 * dropped are filled by repeating the last frame, following the frames' arrival times, so the
 * video plays in real time rather than fast.
 */
export function openLiveVideo(options: LiveVideoOptions): Sink {
  let current: { sink: Sink; width: number; height: number; fps: number; startWall: number; written: number } | null = null;
  let segment = 0;
  let fps = DEFAULT_LIVE_FPS;

  const segmentPath = (n: number): string => {
    if (n === 0) return options.path;
    const ext = path.extname(options.path);
    return `${options.path.slice(0, options.path.length - ext.length)}.${n}${ext || '.mp4'}`;
  };
  const start = async (item: FrameDetections): Promise<void> => {
    const { width, height } = item.frame;
    const sink = await openAnnotatedVideo({ path: segmentPath(segment++), width, height, fps, ffmpegPath: options.ffmpegPath });
    current = { sink, width, height, fps, startWall: item.frame.wallMs ?? Date.now(), written: 0 };
  };

  return {
    name: `live video ${options.path}`,
    async write(item) {
      const { width, height } = item.frame;
      if (current && (current.width !== width || current.height !== height)) {
        await current.sink.close();
        current = null;
      }
      if (!current) await start(item);
      const c = current!;
      // How many output frames this frame covers: up to its arrival time on the video's clock.
      const due = Math.floor((((item.frame.wallMs ?? Date.now()) - c.startWall) * c.fps) / 1000) + 1;
      const repeats = Math.min(Math.max(1, due - c.written), Math.ceil(c.fps * 2));
      for (let i = 0; i < repeats; i++) await c.sink.write(item);
      c.written += repeats;
    },
    async writeEvent(event: PipelineEvent) {
      if (event.kind === 'status' && event.state === 'streaming' && event.media?.fps) fps = event.media.fps;
    },
    async close() {
      const c = current;
      current = null;
      await c?.sink.close();
    },
  };
}
