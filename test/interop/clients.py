"""Independent WebRTC clients against a Shoal node, for the interop tests.

  python3 clients.py aiortc-publish    WS_URL ROOM IDENTITY SECONDS   aiortc publishes over Shoal's WebSocket signaling
  python3 clients.py aiortc-subscribe  WS_URL ROOM IDENTITY SECONDS   aiortc receives over the WebSocket signaling
  python3 clients.py gst-whip          HTTP_URL ROOM POLICY SECONDS   GStreamer webrtcbin publishes with WHIP
  python3 clients.py gst-whep          HTTP_URL ROOM - SECONDS        GStreamer webrtcbin watches with WHEP

Each prints one JSON object per line on stdout ({"event": ...}); the last is
{"event": "result", ...} with what it sent or received. Run with Debian's
python3 (python3-aiortc, python3-websockets, python3-gst-1.0,
gir1.2-gst-plugins-bad-1.0).

Loopback: aiortc (aioice) and GStreamer (libnice) leave out loopback addresses
when they gather candidates, and the test network namespace has nothing else,
so they would gather no candidate at all. Here aioice is told the host's
address is 127.0.0.1, and libnice is given 127.0.0.1 with webrtcbin's
add-local-ip-address signal. Nothing else about the stacks is changed.
"""

import asyncio
import json
import sys
import threading
import time
import urllib.request


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


# --------------------------------------------------------------------------- aiortc

def aiortc_on_loopback():
    import aioice.ice
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


async def signaling(url):
    import websockets
    return await websockets.connect(url, max_size=2**20)


async def request(ws, pending, message):
    request.next_id = getattr(request, "next_id", 0) + 1
    message["requestId"] = request.next_id
    await ws.send(json.dumps(message))
    while True:
        event = json.loads(await ws.recv())
        if event.get("requestId") == request.next_id:
            return event
        pending.append(event)


def remote_candidate(trickle):
    from aiortc.sdp import candidate_from_sdp
    line = trickle["candidate"]
    if line.startswith("a="):
        line = line[2:]
    candidate = candidate_from_sdp(line.split(":", 1)[1])
    candidate.sdpMid = trickle.get("sdpMid")
    return candidate


async def aiortc_publish(url, room, identity, seconds):
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
    aiortc_on_loopback()
    ws = await signaling(url)
    pending = []
    joined = await request(ws, pending, {"join": {"room": room, "identity": identity}})
    emit("joined", participantId=joined["joined"]["participantId"])
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    reply = await request(ws, pending, {"publishOffer": {"sdp": pc.localDescription.sdp}})
    if "publishAnswer" not in reply:
        emit("result", ok=False, error=reply)
        return
    emit("published", tracks=reply["publishAnswer"]["tracks"])
    await pc.setRemoteDescription(RTCSessionDescription(reply["publishAnswer"]["sdp"], "answer"))
    await pump(ws, pending, seconds, lambda e: on_trickle(pc, e, "PUBLISHER"))
    emit("result", ok=True, iceState=pc.iceConnectionState, connectionState=pc.connectionState)
    await pc.close()
    await ws.close()


async def on_trickle(pc, event, target):
    trickle = event.get("trickle")
    if trickle and trickle.get("target") == target and trickle.get("candidate"):
        await pc.addIceCandidate(remote_candidate(trickle))


async def pump(ws, pending, seconds, handle):
    """Hands every server message to `handle` for `seconds`."""
    deadline = time.monotonic() + seconds
    while pending:
        await handle(pending.pop(0))
    while time.monotonic() < deadline:
        try:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - time.monotonic())))
        except asyncio.TimeoutError:
            break
        await handle(event)


async def aiortc_subscribe(url, room, identity, seconds):
    from aiortc import RTCPeerConnection, RTCSessionDescription
    aiortc_on_loopback()
    ws = await signaling(url)
    pending = []
    joined = await request(ws, pending, {"join": {"room": room, "identity": identity}})
    emit("joined", participantId=joined["joined"]["participantId"], tracks=len(joined["joined"].get("tracks", [])))
    pc = RTCPeerConnection()
    frames = {"audio": 0, "video": 0}
    offers = []

    async def read(track):
        while True:
            try:
                await track.recv()
            except Exception:
                return
            frames[track.kind] += 1
            if frames[track.kind] == 1:
                emit("first-frame", kind=track.kind)

    @pc.on("track")
    def on_track(track):
        emit("track", kind=track.kind)
        asyncio.ensure_future(read(track))

    async def handle(event):
        if "subscriberOffer" in event:
            offer = event["subscriberOffer"]
            offers.append([t["trackId"] for t in offer.get("tracks", [])])
            emit("offer", offerId=offer["offerId"], tracks=offers[-1])
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            await ws.send(json.dumps({"subscriberAnswer": {"sdp": pc.localDescription.sdp, "offerId": offer["offerId"]}}))
        else:
            await on_trickle(pc, event, "SUBSCRIBER")

    await pump(ws, pending, seconds, handle)
    emit("result", ok=True, frames=frames, offers=offers, connectionState=pc.connectionState)
    await pc.close()
    await ws.close()


# --------------------------------------------------------------------------- GStreamer

def gst():
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstWebRTC", "1.0")
    gi.require_version("GstSdp", "1.0")
    from gi.repository import GLib, Gst, GstSdp, GstWebRTC
    Gst.init(None)
    return GLib, Gst, GstSdp, GstWebRTC


def add_loopback_address(webrtcbin):
    """webrtcbin's ICE agent (libnice) gathers on 127.0.0.1 too. Through the C API: PyGObject
    mishandles the reference of webrtcbin's ice-agent property (GStreamer 1.22) and the agent dies."""
    import ctypes
    gobject = ctypes.CDLL("libgobject-2.0.so.0")
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    gobject.g_object_get.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
    gobject.g_signal_emit_by_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    gobject.g_object_unref.argtypes = [ctypes.c_void_p]
    ice = ctypes.c_void_p()
    gobject.g_object_get(get_pointer(webrtcbin.__gpointer__, None), b"ice-agent", ctypes.byref(ice), None)
    added = ctypes.c_int(0)
    gobject.g_signal_emit_by_name(ice, b"add-local-ip-address", b"127.0.0.1", ctypes.byref(added))
    gobject.g_object_unref(ice)
    if not added.value:
        raise SystemExit("webrtcbin refused 127.0.0.1 as a local address")


def http_sdp(url, sdp):
    req = urllib.request.Request(url, data=sdp.encode(), method="POST", headers={"Content-Type": "application/sdp"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, response.read().decode()


def run_webrtcbin(pipeline_text, endpoint, seconds, policy=None, on_pad=None, setup=None):
    """Runs a pipeline with a webrtcbin named w: offers once gathering is complete (no trickle), POSTs the offer to `endpoint`."""
    GLib, Gst, GstSdp, GstWebRTC = gst()
    pipe = Gst.parse_launch(pipeline_text)
    if not isinstance(pipe, Gst.Pipeline):  # a lone element
        element, pipe = pipe, Gst.Pipeline()
        pipe.add(element)
    w = pipe.get_by_name("w")
    if policy:
        w.set_property("bundle-policy", getattr(GstWebRTC.WebRTCBundlePolicy, policy))
    add_loopback_address(w)
    if setup:
        setup(w)
    loop = GLib.MainLoop()
    state = {"answered": False, "error": None, "offer": None}

    def post_offer():
        offer = w.get_property("local-description").sdp.as_text()
        state["offer"] = offer
        try:
            status, answer = http_sdp(endpoint, offer)
        except Exception as error:  # noqa: BLE001 - reported in the result
            state["error"] = str(error)
            GLib.idle_add(loop.quit)
            return
        emit("answer", status=status, bundleOnly=offer.count("a=bundle-only"))
        GLib.idle_add(set_answer, answer)

    def set_answer(text):
        _, sdp = GstSdp.SDPMessage.new_from_text(text)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        w.emit("set-remote-description", answer, Gst.Promise.new())
        state["answered"] = True
        return False

    def on_gathering(element, _):
        if element.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not state["answered"]:
            threading.Thread(target=post_offer, daemon=True).start()

    def on_offer(promise, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply and reply.has_field("offer") else None
        if offer is None:
            state["error"] = f"create-offer failed: {reply.to_string() if reply else 'no reply'}"
            GLib.idle_add(loop.quit)
            return
        w.emit("set-local-description", offer, Gst.Promise.new())

    def on_negotiation_needed(_):
        # One offer: every transceiver exists by then (webrtcbin may signal again as pads come).
        if not state.get("offering"):
            state["offering"] = True
            w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))

    w.connect("on-negotiation-needed", on_negotiation_needed)
    w.connect("notify::ice-gathering-state", on_gathering)
    if on_pad:
        w.connect("pad-added", lambda element, pad: on_pad(pipe, pad))
    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message::error", lambda _b, m: (state.__setitem__("error", str(m.parse_error()[0])), loop.quit()))
    pipe.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    connection = w.get_property("connection-state").value_nick
    pipe.set_state(Gst.State.NULL)
    return state, connection, w


def gst_whip(http_url, room, policy, seconds):
    pipeline = (
        "webrtcbin name=w "
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! "
        "vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! application/x-rtp,media=video,encoding-name=VP8,payload=96 ! w. "
        "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! w."
    )
    state, connection, _ = run_webrtcbin(pipeline, f"{http_url}/whip/{room}", seconds, None if policy == "default" else policy)
    emit("result", ok=state["error"] is None and state["answered"], error=state["error"], connectionState=connection,
         bundleOnly=(state["offer"] or "").count("a=bundle-only"))


def gst_whep(http_url, room, seconds):
    GLib, Gst, GstSdp, GstWebRTC = gst()
    frames = {"audio": 0, "video": 0}

    def on_pad(pipe, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        kind = caps.get_structure(0).get_string("media")
        decode = Gst.ElementFactory.make("decodebin")
        pipe.add(decode)

        def on_decoded(_element, decoded_pad):
            sink = Gst.ElementFactory.make("fakesink")
            sink.set_property("signal-handoffs", True)
            sink.set_property("sync", False)

            def count(*_):
                frames[kind] += 1
                if frames[kind] == 1:
                    emit("first-frame", kind=kind)

            sink.connect("handoff", count)
            pipe.add(sink)
            sink.sync_state_with_parent()
            decoded_pad.link(sink.get_static_pad("sink"))

        decode.connect("pad-added", on_decoded)
        decode.sync_state_with_parent()
        pad.link(decode.get_static_pad("sink"))

    def add_transceivers(w):
        # Two recvonly transceivers (VP8 video, Opus audio), as a WHEP player offers.
        for caps in ("application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
                     "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2"):
            w.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, Gst.Caps.from_string(caps))

    state, connection, _ = run_webrtcbin("webrtcbin name=w bundle-policy=max-bundle", f"{http_url}/whep/{room}", seconds,
                                         on_pad=on_pad, setup=add_transceivers)
    emit("result", ok=state["error"] is None and state["answered"], error=state["error"], connectionState=connection, frames=frames)


def main():
    mode, url, room, name, seconds = sys.argv[1:6]
    seconds = float(seconds)
    if mode == "aiortc-publish":
        asyncio.run(aiortc_publish(url, room, name, seconds))
    elif mode == "aiortc-subscribe":
        asyncio.run(aiortc_subscribe(url, room, name, seconds))
    elif mode == "gst-whip":
        gst_whip(url, room, name, seconds)
    elif mode == "gst-whep":
        gst_whep(url, room, seconds)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
