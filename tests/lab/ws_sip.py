#!/usr/bin/env python3
"""A small SIP-over-WebSocket (RFC 7118 / RFC 6455) phone and registrar, and
a SIP-over-TLS pair, over real TCP connections (tests/lab/lab-sip-ws.sh runs
them in two namespaces). Standard library only.

  server ADDR          WebSocket on ADDR:8080 (sip subprotocol), TLS on ADDR:5061
  client SERVER-ADDR TLS-SOURCE
                       one WebSocket session, then one TLS session from
                       TLS-SOURCE (another site: its SIP is seen only in TLS)

WebSocket session (client frames masked, server frames not):
  REGISTER (one frame, 7-bit length)       -> 200 OK
  INVITE with SDP (16-bit length), written in two send() calls 50 ms apart,
      so the frame spans two TCP segments -> 100 Trying, 200 OK with SDP
  ACK in two fragments (text FIN=0, continuation FIN=1) with a ping between
      them                                   -> pong
  BYE                                      -> 200 OK
  close                                    -> close
TLS session: a REGISTER and its 200 OK inside TLS on port 5061."""
import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(payload, op=1, fin=True, mask=False):
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | op])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if mask:
        key = os.urandom(4)
        payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
        head += key
    return head + payload


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            raise EOFError
        out += b
    return out


def recv_frame(s):
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack(">H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", recv_exact(s, 8))[0]
    key = recv_exact(s, 4) if b1 & 0x80 else None
    data = recv_exact(s, n)
    if key:
        data = bytes(b ^ key[i & 3] for i, b in enumerate(data))
    return b0 & 0x80, b0 & 0x0f, data


def recv_message(s, on_control):
    """A whole data message; control frames go to on_control."""
    parts = []
    while True:
        fin, op, data = recv_frame(s)
        if op >= 8:
            if on_control(op, data):
                return None
            continue
        parts.append(data)
        if fin:
            return b"".join(parts)


def recv_http(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(4096)
        if not b:
            raise EOFError
        buf += b
    return buf.decode()


def header(msg, name):
    for line in msg.split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def response(req, code, reason, body=""):
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for h in ("Via", "From", "To", "Call-ID", "CSeq"):
        v = header(req, h)
        if h == "To" and code > 100 and "tag=" not in v:
            v += ";tag=srv1"
        lines.append("%s: %s" % (h, v))
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def sdp(addr, port):
    return ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" % (addr, addr, port))


def serve_ws(conn):
    req = recv_http(conn)
    key = header(req, "Sec-WebSocket-Key")
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: sip\r\n\r\n" % accept).encode())
    addr = conn.getsockname()[0]

    def control(op, data):
        if op == 9:
            conn.sendall(frame(data, op=10))
        if op == 8:
            conn.sendall(frame(data, op=8))
            return True
        return False

    while True:
        msg = recv_message(conn, control)
        if msg is None:
            return
        m = msg.decode()
        method = m.split(" ", 1)[0]
        if method == "INVITE":
            conn.sendall(frame(response(m, 100, "Trying")))
            conn.sendall(frame(response(m, 200, "OK", sdp(addr, 30000))))
        elif method in ("REGISTER", "BYE", "OPTIONS"):
            conn.sendall(frame(response(m, 200, "OK")))


def serve_tls(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        b = conn.recv(4096)
        if not b:
            return
        data += b
    conn.sendall(response(data.decode(), 200, "OK"))


def server(addr):
    ws = socket.create_server((addr, 8080))
    tl = socket.create_server((addr, 5061))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    here = os.environ.get("WS_SIP_CERT_DIR", ".")
    ctx.load_cert_chain(os.path.join(here, "cert.pem"), os.path.join(here, "key.pem"))

    def loop_ws():
        while True:
            c, _ = ws.accept()
            with c:
                try:
                    serve_ws(c)
                except EOFError:
                    pass

    def loop_tls():
        while True:
            c, _ = tl.accept()
            try:
                with ctx.wrap_socket(c, server_side=True) as t:
                    serve_tls(t)
            except (ssl.SSLError, OSError):
                pass

    threading.Thread(target=loop_tls, daemon=True).start()
    loop_ws()


def request(method, cseq, me, srv, extra="", body=""):
    lines = ["%s sip:%s SIP/2.0" % (method, srv if method == "REGISTER" else "200@" + srv),
             "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK%s%d;rport" % (method.lower(), cseq),
             "Max-Forwards: 70",
             "From: <sip:100@%s>;tag=cli1" % srv,
             "To: <sip:%s@%s>%s" % ("100" if method == "REGISTER" else "200", srv,
                                    ";tag=srv1" if method in ("ACK", "BYE") else ""),
             "Call-ID: %s-ws-lab@%s" % ("reg" if method == "REGISTER" else "call", me),
             "CSeq: %d %s" % (cseq, method),
             "Contact: <sip:100@df7jal23ls0d.invalid;transport=ws>",
             "User-Agent: pinhole-lab ws_sip.py"]
    if extra:
        lines.append(extra)
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def client(srv, tls_src):
    s = socket.create_connection((srv, 8080))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    me = s.getsockname()[0]
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET / HTTP/1.1\r\nHost: %s:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n"
               "Origin: http://%s\r\n\r\n" % (srv, key, srv)).encode())
    resp = recv_http(s)
    assert resp.startswith("HTTP/1.1 101"), resp
    nothing = lambda op, data: False  # noqa: E731
    s.sendall(frame(request("REGISTER", 1, me, srv, "Expires: 600"), mask=True))
    assert recv_message(s, nothing).startswith(b"SIP/2.0 200")
    inv = frame(request("INVITE", 2, me, srv, body=sdp(me, 20000)), mask=True)
    s.sendall(inv[:60])
    time.sleep(0.05)  # the rest in a second segment
    s.sendall(inv[60:])
    assert recv_message(s, nothing).startswith(b"SIP/2.0 100")
    assert recv_message(s, nothing).startswith(b"SIP/2.0 200")
    ack = request("ACK", 2, me, srv)
    pongs = []
    s.sendall(frame(ack[:40], fin=False, mask=True))
    time.sleep(0.02)
    s.sendall(frame(b"lab", op=9, mask=True))
    time.sleep(0.02)
    s.sendall(frame(ack[40:], op=0, mask=True))
    fin, op, data = recv_frame(s)
    pongs.append(op)
    assert op == 10, op
    time.sleep(0.2)
    s.sendall(frame(request("BYE", 3, me, srv), mask=True))
    assert recv_message(s, nothing).startswith(b"SIP/2.0 200")
    s.sendall(frame(struct.pack(">H", 1000), op=8, mask=True))
    recv_frame(s)
    s.close()
    # SIP over TLS: encrypted, so nothing the sensor can read.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((srv, 5061), source_address=(tls_src, 0)) as raw, ctx.wrap_socket(raw) as t:
        t.sendall(request("REGISTER", 1, me, srv, "Expires: 600"))
        assert t.recv(4096).startswith(b"SIP/2.0 200")
    print("ws_sip client: 4 requests over WebSocket, 1 over TLS: done")


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3])
