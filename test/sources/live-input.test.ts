import { expect } from 'chai';
import { OptionError } from '../../src/errors.js';
import { classifyInput, redactText, redactUrl } from '../../src/sources/live-input.js';

describe('live-input', () => {
  it('classifyInput tells the kinds apart', () => {
    const table: Array<[string, string, boolean]> = [
      ['rtsp://cam.local:554/stream1', 'rtsp', true],
      ['RTSP://cam/ch0', 'rtsp', true],
      ['rtsps://cam/ch0', 'rtsps', true],
      ['http://cam/live/index.m3u8', 'hls', true],
      ['https://cdn.example/a/b.M3U8?token=x', 'hls', true],
      ['http://cam/mjpg/video.mjpg', 'mjpeg', true],
      ['http://cam/videostream.cgi?user=a&pwd=b', 'mjpeg', true],
      ['http://127.0.0.1:8080/mjpeg', 'mjpeg', true],
      ['http://host/clip.mp4', 'http', false],
      ['/dev/video0', 'v4l2', true],
      ['/dev/video12', 'v4l2', true],
      ['/dev/videox', 'file', false],
      ['-', 'stdin', false],
      ['clip.mp4', 'file', false],
      ['a:b.mp4', 'file', false],
      ['file:///tmp/a%20b.mp4', 'file', false],
    ];
    for (const [input, kind, live] of table) {
      const spec = classifyInput(input);
      expect(spec.kind, input).to.equal(kind);
      expect(spec.live, input).to.equal(live);
    }
  });

  it('classifyInput gives ffmpeg the URL with credentials and everyone else the redacted one', () => {
    const spec = classifyInput('rtsp://admin:s3cret@10.0.0.5:554/h264');
    expect(spec.url).to.equal('rtsp://admin:s3cret@10.0.0.5:554/h264');
    expect(spec.display).to.equal('rtsp://10.0.0.5:554/h264');
    expect(classifyInput('-').url).to.equal('pipe:0');
    expect(classifyInput('a:b.mp4').url).to.equal('file:a:b.mp4');
    expect(classifyInput('file:///tmp/a%20b.mp4')).to.include({ url: 'file:/tmp/a b.mp4', display: '/tmp/a b.mp4' });
  });

  it('classifyInput rejects other protocols without showing their password', () => {
    let err: unknown;
    try {
      classifyInput('rtmp://bob:hunter22@live/app');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OptionError);
    expect((err as Error).message).to.contain('rtmp://live/app');
    expect((err as Error).message).to.not.contain('hunter22');
    expect((err as Error).message).to.not.contain('bob');
    expect(() => classifyInput('')).to.throw(OptionError);
  });

  it('redactUrl removes userinfo and secret query values', () => {
    const table: Array<[string, string]> = [
      ['rtsp://user:pass@cam:554/s', 'rtsp://cam:554/s'],
      ['rtsp://user@cam/s', 'rtsp://cam/s'],
      ['rtsp://cam/s', 'rtsp://cam/s'],
      ['rtsp://u:p@ss@cam/s', 'rtsp://cam/s'], // unescaped '@' in the password
      ['rtsp://u:p%40ss@cam', 'rtsp://cam'],
      ['http://cam/video.cgi?user=admin&pwd=x&res=720', 'http://cam/video.cgi?user=***&pwd=***&res=720'],
      ['http://cam/a?Password=x#frag', 'http://cam/a?Password=***#frag'],
      ['https://u:p@cdn/x.m3u8?token=abc', 'https://cdn/x.m3u8?token=***'],
      ['http://cam/a?flag&other=1', 'http://cam/a?flag&other=1'],
      ['/dev/video0', '/dev/video0'],
      ['clip.mp4', 'clip.mp4'],
    ];
    for (const [url, expected] of table) expect(redactUrl(url), url).to.equal(expected);
  });

  it('redactText scrubs URLs inside free text, like an ffmpeg stderr line', () => {
    const url = 'rtsp://admin:s3cret@127.0.0.1:8554/test';
    expect(redactText(`${url}: Connection refused`, url)).to.equal('rtsp://127.0.0.1:8554/test: Connection refused');
    // ffmpeg may print the URL it rebuilt, or an unrelated one
    expect(redactText('Opening rtsp://x:y@other/z for reading')).to.equal('Opening rtsp://other/z for reading');
    expect(redactText('auth admin:s3cret@ failed', url)).to.equal('auth  failed');
    expect(redactText('GET /v.cgi?user=a&pwd=b HTTP/1.1')).to.equal('GET /v.cgi?user=***&pwd=*** HTTP/1.1');
    expect(redactText('nothing secret here')).to.equal('nothing secret here');
  });
});
