import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parsePipelineSpec } from '../../src/pipeline/spec.js';
import { cli, jsonLines, probeStreams, requireBuiltCli, type ProbedStream } from '../helpers/cli.js';
import { createTestMedia, FFMPEG_BIN, type TestMedia } from '../helpers/media.js';

// The annotated MP4 keeps the input's audio (--no-audio drops it), through the CLI on clips with
// a sine tone made here, read back with ffprobe.

const exec = promisify(execFile);

function stream(streams: ProbedStream[], type: string): ProbedStream | undefined {
  return streams.find((s) => s.codec_type === type);
}

describe('annotated MP4 audio (CLI)', function () {
  this.timeout(180_000);
  let media: TestMedia;
  let toned: string;

  before(async () => {
    requireBuiltCli();
    media = await createTestMedia();
    toned = await media.clip({ width: 320, height: 240, fps: 25, frames: 50, audio: true, name: 'toned.mp4' });
  });
  after(async () => {
    await media?.cleanup();
  });

  it('a clip with a tone gives an MP4 with an AAC track as long as the video', async () => {
    const video = path.join(media.dir, 'with-audio.mp4');
    const r = await cli(['detect', toned, '-q', '--video', video]);
    expect(r.code, r.stderr).to.equal(0);
    const streams = await probeStreams(video);
    expect(stream(streams, 'video')).to.include({ codec_name: 'h264', nb_read_packets: '50' });
    const audio = stream(streams, 'audio');
    expect(audio, 'an audio stream').to.include({ codec_name: 'aac' });
    expect(Number(audio!.duration)).to.be.closeTo(2, 0.1);
  });

  it('--no-audio gives a silent MP4', async () => {
    const video = path.join(media.dir, 'no-audio.mp4');
    const r = await cli(['detect', toned, '-q', '--no-audio', '--video', video]);
    expect(r.code, r.stderr).to.equal(0);
    const streams = await probeStreams(video);
    expect(streams.map((s) => s.codec_type)).to.deep.equal(['video']);
    expect(stream(streams, 'video')).to.include({ nb_read_packets: '50' });
  });

  it('an audio track shorter than the video (MP3) is padded: every frame is kept', async () => {
    const short = path.join(media.dir, 'short-mp3.mp4');
    await exec(FFMPEG_BIN, [
      '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-frames:v', '75',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'libmp3lame', short,
    ]);
    const video = path.join(media.dir, 'short-out.mp4');
    const r = await cli(['detect', short, '-q', '--video', video]);
    expect(r.code, r.stderr).to.equal(0);
    const streams = await probeStreams(video);
    expect(stream(streams, 'video')).to.include({ nb_read_packets: '75' });
    expect(Number(stream(streams, 'audio')!.duration)).to.be.closeTo(3, 0.1);
  });

  it('a run stopped by SIGINT: the MP4 is playable, holds the frames written, and its audio ends with them', async () => {
    const long = await media.clip({ width: 640, height: 360, fps: 25, frames: 1500, preset: 'ultrafast', audio: true, name: 'long-toned.mp4' });
    const video = path.join(media.dir, 'stopped.mp4');
    let signalled = false;
    const run = cli(['detect', long, '--jsonl', '-', '--video', video], {
      onStdout: (s) => {
        if (!signalled && s.split('\n').length > 25) {
          signalled = true;
          run.child.kill('SIGINT');
        }
      },
    });
    const r = await run;
    expect(signalled, 'the run never produced 25 lines').to.equal(true);
    expect(r.code, r.stderr).to.equal(130);
    const frames = jsonLines(r.stdout).filter((l) => l.type === 'frame');
    expect(frames.length).to.be.within(25, 1499);
    const streams = await probeStreams(video);
    expect(Number(stream(streams, 'video')!.nb_read_packets)).to.equal(frames.length);
    const videoSeconds = frames.length / 25;
    expect(Number(stream(streams, 'audio')!.duration)).to.be.closeTo(videoSeconds, 0.15);
  });

  it('standard input (read once, by the decoder) gives a silent MP4 with every frame', async () => {
    const ts = path.join(media.dir, 'toned.ts');
    await exec(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-y', '-i', toned, '-c', 'copy', '-f', 'mpegts', ts]);
    const video = path.join(media.dir, 'stdin-out.mp4');
    const r = await cli(['detect', '-', '-q', '--video', video], { stdinFile: ts });
    expect(r.code, r.stderr).to.equal(0);
    const streams = await probeStreams(video);
    expect(streams.map((s) => s.codec_type)).to.deep.equal(['video']);
    expect(stream(streams, 'video')).to.include({ nb_read_packets: '50' });
  });

  it('a pipeline file says it as outputs.audio; the default is on', () => {
    expect(parsePipelineSpec({ input: 'a.mp4', outputs: { video: 'a-out.mp4', audio: false } }, '/tmp').options.audio).to.equal(false);
    expect(parsePipelineSpec({ input: 'a.mp4', outputs: { video: 'a-out.mp4' } }, '/tmp').options.audio).to.equal(true);
  });
});
