import { expect } from 'chai';
import { decodeRgbArgs, demuxTimeBaseArgs, fileInputUrl, frameTimestampArgs, passthroughSyncArgs, probeArgs } from '../../src/sources/ffmpeg-args.js';

describe('ffmpeg-args', () => {
  it('passthroughSyncArgs picks -fps_mode from FFmpeg 5.1 (libavutil 57.28) on, -vsync before', () => {
    const table: Array<[string, string]> = [
      ['libavutil      56. 24.101 / 56. 24.101', '-vsync'], // the 2018 @ffmpeg-installer build
      ['libavutil      57. 17.100 / 57. 17.100', '-vsync'], // 5.0
      ['libavutil      57. 28.100 / 57. 28.100', '-fps_mode'], // 5.1
      ['libavutil      58.  2.100 / 58.  2.100', '-fps_mode'], // 6.0
      ['libavutil      59.  8.100 / 59.  8.100', '-fps_mode'], // 7.0
      ['no version lines at all', '-vsync'],
    ];
    for (const [text, flag] of table) expect(passthroughSyncArgs(`ffmpeg version x\n${text}\n`), text).to.deep.equal([flag, 'passthrough']);
  });

  it('fileInputUrl protects colons and leading dashes', () => {
    expect(fileInputUrl('a:b.mp4')).to.equal('file:a:b.mp4');
    expect(fileInputUrl('-x.mp4')).to.equal('file:-x.mp4');
  });

  it('probeArgs asks for JSON streams and format', () => {
    expect(probeArgs('file:x.mp4')).to.deep.equal(['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', 'file:x.mp4']);
  });

  it('decodeRgbArgs maps the first video stream to fixed-size rgb24 on stdout, stdin left open', () => {
    const args = decodeRgbArgs({ input: 'file:x.mp4', width: 64, height: 48, syncArgs: ['-vsync', 'passthrough'] });
    expect(args).to.deep.equal([
      '-hide_banner', '-loglevel', 'error', '-i', 'file:x.mp4', '-map', '0:v:0', '-an', '-sn', '-dn',
      '-vsync', 'passthrough', '-vf', 'scale=64:48', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
    ]);
    expect(args).to.not.include('-nostdin');
  });

  it('with timestamps, a second output sends each frame\'s container pts to a pipe as framecrc', () => {
    const sync = ['-vsync', 'passthrough'];
    const ts = frameTimestampArgs(sync, ['-enc_time_base', '-1'], 3);
    expect(ts).to.deep.equal([
      '-map', '0:v:0', '-an', '-sn', '-dn', '-vsync', 'passthrough', '-enc_time_base', '-1',
      '-vf', 'crop=min(2\\,iw):min(2\\,ih):0:0', '-c:v', 'rawvideo', '-f', 'framecrc', '-flush_packets', '1', 'pipe:3',
    ]);
    const args = decodeRgbArgs({ input: 'file:x.mp4', width: 64, height: 48, syncArgs: sync, timestamps: { fd: 3, timeBaseArgs: ['-enc_time_base', '-1'] } });
    expect(args.slice(0, args.indexOf('pipe:1') + 1)).to.deep.equal(decodeRgbArgs({ input: 'file:x.mp4', width: 64, height: 48, syncArgs: sync }));
    expect(args.slice(args.indexOf('pipe:1') + 1)).to.deep.equal(ts);
  });

  it('demuxTimeBaseArgs: -1 up to FFmpeg 6, demux from FFmpeg 7 (libavutil 59)', () => {
    expect(demuxTimeBaseArgs('libavutil      56. 24.101 / 56. 24.101')).to.deep.equal(['-enc_time_base', '-1']);
    expect(demuxTimeBaseArgs('libavutil      57. 28.100 / 57. 28.100')).to.deep.equal(['-enc_time_base', '-1']);
    expect(demuxTimeBaseArgs('libavutil      59.  8.100 / 59.  8.100')).to.deep.equal(['-enc_time_base', 'demux']);
  });
});
