#!/usr/bin/python3
"""A GStreamer RTSP server for ssdpipe's live-source tests (driven by rtsp-server.ts).

Serves a moving H.264 test pattern (videotestsrc pattern=ball, x264enc tune=zerolatency) at
rtsp://127.0.0.1:<port><path>, optionally behind basic auth. Each client gets its own pipeline.

stdout: one line "READY <port>" once the server listens (port 0 asks for a free port), or
        "ERROR <reason>" before exiting with status 2. With --check: "OK" if everything needed
        is installed (then exits), else "ERROR <reason>".
stdin:  commands, one per line:
        "stall"  - close the valve in every pipeline: the RTSP session stays up, no frames flow
        "resume" - open the valves again
        end of input - exit (so the server never outlives the test that started it)
"""
import argparse
import sys

try:
    import gi

    gi.require_version('Gst', '1.0')
    gi.require_version('GstRtspServer', '1.0')
    from gi.repository import GLib, Gst, GstRtspServer
except (ImportError, ValueError) as err:  # ValueError: the typelib is missing
    print(f'ERROR GStreamer RTSP server bindings missing: {err}', flush=True)
    sys.exit(2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--path', default='/test')
    ap.add_argument('--width', type=int, default=320)
    ap.add_argument('--height', type=int, default=240)
    ap.add_argument('--fps', type=int, default=25)
    ap.add_argument('--user')
    ap.add_argument('--password')
    ap.add_argument('--check', action='store_true')
    a = ap.parse_args()

    Gst.init(None)
    for element in ('videotestsrc', 'x264enc', 'rtph264pay', 'valve'):
        if Gst.ElementFactory.find(element) is None:
            print(f'ERROR GStreamer element {element} missing (install gstreamer1.0-plugins-good/-ugly)', flush=True)
            return 2
    if a.check:
        print('OK', flush=True)
        return 0

    # A keyframe every second so a client (or a reconnect after a stall) decodes within a second.
    launch = (
        f'( videotestsrc is-live=true pattern=ball '
        f'! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 '
        f'! valve name=gate drop=false '
        f'! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps} '
        f'! rtph264pay name=pay0 pt=96 config-interval=1 )'
    )
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)

    gates = []
    stalled = [False]

    def on_configure(_factory, media):
        gate = media.get_element().get_by_name('gate')
        gate.set_property('drop', stalled[0])
        gates.append(gate)

    factory.connect('media-configure', on_configure)

    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(a.port))
    if a.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string('media.factory.role', 'user')
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password or ''), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role('user', 'media.factory.access', True)
        permissions.add_permission_for_role('user', 'media.factory.construct', True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(a.path, factory)

    loop = GLib.MainLoop()
    try:
        server.attach(None)
    except GLib.Error as err:
        print(f'ERROR cannot listen on 127.0.0.1:{a.port}: {err.message}', flush=True)
        return 2
    print(f'READY {server.get_bound_port()}', flush=True)

    def on_stdin(channel, condition):
        if condition & (GLib.IO_HUP | GLib.IO_ERR):
            loop.quit()
            return False
        line = channel.readline()
        if line == '':
            loop.quit()
            return False
        command = line.strip()
        if command in ('stall', 'resume'):
            stalled[0] = command == 'stall'
            for gate in gates:
                gate.set_property('drop', stalled[0])
            print(f'OK {command}', flush=True)
        return True

    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT,
                      GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_stdin)
    loop.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
