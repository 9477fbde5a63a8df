"""tshark's independent reading of the SIP in a capture, turned into the
events pinhole should report for it: one `sip` event per transaction
(sensor/siptx.c) and the `nat_binding` events (sensor/nat.c, docs/nat.md).

tshark parses the messages (UDP, TCP and WebSocket reassembly, IP
fragments); only the bookkeeping that turns messages into events is redone
here, rule for rule as the sensor's sources state it, so that a difference
is a difference in what was read, or a rule the sensor does not keep. Used
by public_pcaps.py; tshark runs once per capture (JSON, every frame: the
frames without SIP still move the capture clock that times transactions
out).

Not mirrored, and why that is safe: the sensor drops a frame that copies
the one before it within 5 ms (SPAN duplicates) and TCP retransmissions;
tshark hides the latter too, and public_pcaps.py checks that both
count the same SIP messages. Transactions evicted from a full table (16,384
open at once) cannot happen in these captures."""
import ipaddress
import json
import subprocess
from collections import Counter, OrderedDict

# sensor/siptx.c
TIMEOUT_US = 32 * 1000000    # timer B/F, from the first copy of the request
RINGING_US = 180 * 1000000   # an INVITE with a 1xx other than 100: timer C
# sensor/pipeline.c: the tables expire at most once per second of capture
# time, on the first decoded frame at or after the next due time, before
# that frame's SIP is read; at the end, once more with the last time.
EXPIRE_EVERY_US = 1000000
JUMP_US = 60 * 1000000     # pipeline.c jump_us: a frame this far off is in doubt
# sensor/nat.c: a phone behind NAT is forgotten an hour after last seen.
PHONE_US = 3600 * 1000000

# Field sizes of siptx_t / nat_binding_t (C strings: one byte for the NUL).
METHOD_LEN, CALL_ID_LEN, BRANCH_LEN = 23, 127, 63


def _first(v):
    return v[0] if isinstance(v, list) else v


def _list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _find(tree, key):
    """The first value of key anywhere in a tshark JSON tree, or None."""
    if isinstance(tree, dict):
        if key in tree:
            return _first(tree[key])
        tree = list(tree.values())
    if isinstance(tree, list):
        for t in tree:
            v = _find(t, key)
            if v is not None:
                return v
    return None


def _ip(s):
    """ip_parse (inet_pton): an address literal, else None (a host name,
    or an IPv6 literal still in brackets)."""
    if not s:
        return None
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        return None


def is_private(a):
    """common/strutil.c ip_is_private."""
    if a.version == 4:
        b = a.packed
        return (b[0] == 10 or b[0] == 127 or (b[0] == 172 and (b[1] & 0xF0) == 16) or
                (b[0] == 192 and b[1] == 168) or (b[0] == 100 and (b[1] & 0xC0) == 64) or
                (b[0] == 169 and b[1] == 254))
    b = a.packed
    return (b[0] & 0xFE) == 0xFC or (b[0] == 0xFE and (b[1] & 0xC0) == 0x80) or a == ipaddress.ip_address("::1")


def _loopback(a):
    """nat.c s_loopback."""
    return (a.version == 4 and a.packed[0] == 127) or (a.version == 6 and a == ipaddress.ip_address("::1"))


def endpoint(a, port):
    """nat.c s_endpoint."""
    return ("%s:%u" if a.version == 4 else "[%s]:%u") % (a, port)


class Message:
    __slots__ = ("ts_us", "frame", "is_request", "method", "status", "call_id", "cseq",
                 "cseq_method", "nvia", "via_host", "via_port", "via_transport", "via_branch",
                 "via_received", "via_rport", "src", "sport", "dst", "dport")


def _via_params(text):
    """The parameters of the first Via value of a Via header's text."""
    first = text.split(",")[0]
    out = {}
    for p in first.split(";")[1:]:
        k, _, val = p.partition("=")
        out.setdefault(k.strip().lower(), val.strip().strip('"') if val else "rport" if k.strip().lower() == "rport" else "")
    return out


def _message(sip, ts_us, frame, addrs):
    hdr = _first(sip.get("sip.msg_hdr_tree")) or {}
    rl = _first(sip.get("sip.Request-Line_tree"))
    sl = _first(sip.get("sip.Status-Line_tree"))
    if not rl and not sl:
        return None
    m = Message()
    m.ts_us, m.frame = ts_us, frame
    m.src, m.sport, m.dst, m.dport = addrs
    cseq = _first(hdr.get("sip.CSeq_tree")) or {}
    m.cseq = int(_first(cseq.get("sip.CSeq.seq")) or 0)
    m.cseq_method = _first(cseq.get("sip.CSeq.method")) or ""
    m.is_request = bool(rl)
    if rl:
        m.method, m.status = _first(rl.get("sip.Method")) or "", 0
    else:
        # sip.c: a response's method is its CSeq method.
        m.method, m.status = m.cseq_method, int(_first(sl.get("sip.Status-Code")) or 0)
    m.call_id = (_first(hdr.get("sip.Call-ID")) or "").strip()
    vias = _list(hdr.get("sip.Via_tree"))
    m.nvia = len(vias)
    v = vias[0] if vias else {}
    # Several Via values in one header line come as lists: the first is the top.
    m.via_host = _first(v.get("sip.Via.sent-by.address")) or ""
    if m.via_host.startswith("[") and m.via_host.endswith("]"):
        m.via_host = m.via_host[1:-1]  # sip.c s_hostport strips the brackets
    port = _first(v.get("sip.Via.sent-by.port"))
    m.via_port = int(port) if port else 0
    m.via_transport = _first(v.get("sip.Via.transport")) or ""
    m.via_branch = _first(v.get("sip.Via.branch"))
    m.via_received = _first(v.get("sip.Via.received"))
    rport = _first(v.get("sip.Via.rport"))
    if isinstance(v.get("sip.Via.sent-by.address"), list):
        # tshark 4.0 gives up on a Via whose sent-by is an IPv6 address
        # without brackets (heplify sip_ipv6_udp.pcap: "SIP/2.0/UDP
        # fe80:0:0:0:21a:a0ff:fe07:32e0:5060;branch=..."; RFC 3261 25.1 wants
        # "[...]"): it shows the address twice ("fe80", "") and no parameters.
        # The parameters are then read from the header's text as tshark shows
        # it. The sent-by stays unusable either way: pinhole reads that whole
        # text as a host name, no address, as tshark reads no address.
        params = _via_params(_first(hdr.get("sip.Via")) or "")
        m.via_branch = params.get("branch", m.via_branch)
        m.via_received = params.get("received", m.via_received)
        rport = params.get("rport", rport)
    # None: no rport; 0: a bare rport (asked, no value); n: rport=n.
    m.via_rport = None if rport is None else (int(rport) if rport.isdigit() and 0 < int(rport) <= 65535 else 0)
    return m


class Capture:
    """A capture as tshark reads it: per frame its time, whether the sensor's
    clock reads it (a decoded IP frame that is not an IP fragment waiting for
    the rest), and its SIP messages in order."""

    def __init__(self, frames, nsip):
        self.frames = frames  # [(ts_us, clocked, [Message])]
        self.nsip = nsip      # SIP messages tshark shows

    def messages(self):
        return [m for _, _, ms in self.frames for m in ms]


def read(path, timeout=300):
    """tshark's reading of path, or None when tshark is not installed."""
    cmd = ["tshark", "-r", path, "-d", "tcp.port==6060,sip", "-T", "json", "--no-duplicate-keys",
           "-J", "frame ip ipv6 udp tcp sip"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return None
    if out.returncode != 0:
        raise RuntimeError("tshark %s: exit %d: %s" % (path, out.returncode, out.stderr.strip()[:300]))
    frames = []
    nsip = 0
    for pkt in json.loads(out.stdout or "[]"):
        layers = pkt["_source"]["layers"]
        fr = layers["frame"]
        ts_us = round(float(fr["frame.time_epoch"]) * 1000000)
        num = int(fr["frame.number"])
        ip4, ip6 = _list(layers.get("ip")), _list(layers.get("ipv6"))
        ipl = (ip4 or ip6)
        clocked = bool(ipl)
        src = dst = None
        if ip4:
            l3 = ip4[-1]
            src, dst = _ip(l3.get("ip.src")), _ip(l3.get("ip.dst"))
            if (_first(l3.get("ip.flags_tree")) or {}).get("ip.flags.mf") == "1":
                clocked = False
        elif ip6:
            l3 = ip6[-1]
            src, dst = _ip(l3.get("ipv6.src")), _ip(l3.get("ipv6.dst"))
            if _find(l3, "ipv6.fraghdr.more") == "1":
                clocked = False
        l4 = _first(layers.get("udp")) or _first(layers.get("tcp")) or {}
        sport = int(l4.get("udp.srcport") or l4.get("tcp.srcport") or 0)
        dport = int(l4.get("udp.dstport") or l4.get("tcp.dstport") or 0)
        msgs = []
        for s in _list(layers.get("sip")):
            nsip += 1
            m = _message(s, ts_us, num, (src, sport, dst, dport))
            if m:
                msgs.append(m)
        if msgs:
            clocked = True  # the fragment that completed a datagram
        frames.append((ts_us, clocked, msgs))
    return Capture(frames, nsip)


def _clock(cap, tables):
    """Runs every table over the capture as sensor/pipeline.c does: the
    capture clock is the latest decoded frame's time; expiry (each table's
    expire(now)) at most once a second, before the frame's SIP is read;
    at the end expire once more, then finish.

    A frame more than 60 s away from the clock is held until the next one
    (pipeline_packet): believed (the clock moves to it, back or forth) if
    the next frame is near it, else taken as dated now; the last frame held
    is believed if it is later. The crafted heplify sip_ipv6_udp.pcap, whose
    six frames are years apart, needs this: most of its frames are re-dated."""
    st = {"now": 0, "next": 0}

    def process(frame, ts_us):
        _, clocked, msgs = frame
        if clocked:
            st["now"] = max(st["now"], ts_us)
            if st["now"] >= st["next"]:
                for t in tables:
                    t.expire(st["now"])
                st["next"] = st["now"] + EXPIRE_EVERY_US
        for m in msgs:
            m.ts_us = ts_us
            for t in tables:
                t.message(m)

    def far(a, b):
        return abs(a - b) > JUMP_US

    def release(held, nxt, believe):
        if nxt is not None and not far(nxt[0], held[0]):
            believe = True
        if believe:
            st["now"] = st["next"] = held[0]
            process(held, held[0])
        else:
            process(held, st["now"])

    held = None
    for frame in cap.frames:
        if held is not None:
            release(held, frame, False)
            held = None
        if st["now"] and far(frame[0], st["now"]):
            held = frame
            continue
        process(frame, frame[0])
    if held is not None:
        release(held, None, held[0] > st["now"])
    for t in tables:
        t.expire(st["now"])
        t.finish()


class _Transactions:
    """sensor/siptx.c. The key is (Call-ID, CSeq number, CSeq method, top
    Via branch; the Call-ID again when there is no Via). The table is in
    touch order (common/lrutab.c): expiry pops from the head while the
    head's deadline has passed, so one whose 32 s passed can wait behind an
    INVITE that rings for 3 minutes."""

    def __init__(self):
        self.open = OrderedDict()  # key -> [deadline, method, call_id, cseq, branch, provisional seen]
        self.events = []           # (method, call_id, cseq, branch, status, end)
        self.timed_out = {}        # key -> (its event, provisional seen)
        self.late = []             # (event, final status tshark sees after it, provisional seen)

    def _end(self, key, status, end):
        deadline, method, call_id, cseq, branch, prov = self.open.pop(key)
        ev = (method, call_id, cseq, branch, status, end)
        self.events.append(ev)
        if end == "timeout":
            self.timed_out[key] = (ev, prov)

    def expire(self, now):
        while self.open:
            key, tx = next(iter(self.open.items()))
            if tx[0] >= now:
                break
            self._end(key, 0, "timeout")

    def finish(self):
        for key in list(self.open):
            self._end(key, 0, "capture_ended")

    def message(self, m):
        # ACK has no response and is no transaction here: the ACK of a
        # non-2xx final belongs to its INVITE's transaction, already ended
        # by that final; the ACK of a 2xx is not part of the INVITE
        # transaction (RFC 3261 17) and gets no response: the sensor records
        # neither. A CANCEL is a transaction of its own (CSeq method CANCEL,
        # the INVITE's branch), answered by its own 200 (or not at all);
        # its INVITE ends with the 487, as tshark shows it.
        if not m.call_id or m.method.upper() == "ACK":
            return
        key = (m.call_id, m.cseq, m.cseq_method, m.via_branch if m.nvia else m.call_id)
        tx = self.open.get(key)
        if m.is_request:
            if tx is None:  # else a retransmission: one transaction
                self.open[key] = [m.ts_us + TIMEOUT_US, m.method[:METHOD_LEN], m.call_id[:CALL_ID_LEN],
                                  m.cseq, (m.via_branch or "")[:BRANCH_LEN], False]
            return
        if tx is None:
            # No open transaction: a response to a request not seen, or one
            # after the final (a 2xx retransmission), or after it timed out.
            # A final response after the timeout is noted (late): the sensor
            # says "timeout" where tshark sees a final status.
            if m.status >= 200 and key in self.timed_out:
                ev, prov = self.timed_out.pop(key)
                self.late.append((ev, m.status, prov))
            return
        if m.status < 200:
            tx[5] = True
            if tx[1] == "INVITE":  # any 1xx: Proceeding, no timer B
                tx[0] = m.ts_us + RINGING_US
                self.open.move_to_end(key)
            return
        # The first final response ends the transaction (a later final one,
        # e.g. a 200 after a 487 in a CANCEL race, finds it gone).
        self._end(key, m.status, "final")


class _Nat:
    """nat.c s_request_nat / s_response_nat / s_phone: a phone (site,
    private sent-by ip:port) behind NAT, reported when its public mapping,
    per vantage, is first learned or changes."""

    def __init__(self, site_of):
        self.site_of = site_of
        self.phones = OrderedDict()  # key -> [deadline, {vantage: (ip, port)}]
        self.events = []             # (vantage, private, public, old_public)
        self.set_aside = Counter()   # NAT signs the rules do not take, by why

    def expire(self, now):
        while self.phones:
            key, ph = next(iter(self.phones.items()))
            if ph[0] >= now:
                break
            del self.phones[key]

    def finish(self):
        pass

    def _phone(self, m, site, vtg, priv, pport, pub, pubport):
        key = (site, priv, pport)
        ph = self.phones.get(key)
        if ph is None:
            ph = self.phones[key] = [0, {}]
        ph[0] = m.ts_us + PHONE_US
        self.phones.move_to_end(key)
        old = ph[1].get(vtg)
        if old == (pub, pubport):
            return
        ph[1][vtg] = (pub, pubport)
        self.events.append((vtg, endpoint(priv, pport), endpoint(pub, pubport),
                            endpoint(*old) if old else ""))

    def _sent_by(self, m):
        if not m.nvia:
            return None, 0
        return _ip(m.via_host), m.via_port or 5060

    def _sign(self, m):
        """Whether m shows a NAT on its face, as docs/nat.md puts it (a
        request's source other than its top Via's sent-by; a response's Via
        received=/rport= other than the sent-by), before the rules below."""
        if not m.nvia or m.src is None:
            return False
        vport = m.via_port or 5060
        if m.is_request:
            return m.via_host != str(m.src) or vport != m.sport
        return bool((m.via_received and m.via_received != m.via_host) or
                    (m.via_rport and m.via_rport != vport))

    def message(self, m):
        why = self._rule(m)
        if why and self._sign(m):
            self.set_aside[why] += 1

    def _rule(self, m):
        """Applies nat.c to m; returns why a NAT sign was not taken (None:
        taken, or no sign)."""
        # Every message counts here, ACK too. Over TCP/TLS/WebSocket (a top
        # Via transport other than UDP) the mapping is the address alone:
        # port 0.
        stream = bool(m.nvia) and m.via_transport.upper() != "UDP"
        via, vport = self._sent_by(m)
        if via is None or m.src is None:
            return "sent-by is not an address"
        if m.is_request:
            # Outside: the packet's source is not its sent-by. Only the
            # address counts (one host, several sockets, is no NAT), and a
            # public sent-by from a private source is a host told its
            # public address.
            if via == m.src:
                return "same address (only the port differs)"
            if is_private(m.src) and not is_private(via):
                return "public sent-by from a private source"
            if _loopback(m.src):
                return "loopback source"
            self._phone(m, self.site_of(m.src), "outside", via, vport, m.src, 0 if stream else m.sport)
            return None
        # Inside: the answer going back to the sent-by carries received=
        # (else the sent-by host) and rport= that differ from it.
        if via != m.dst or (not stream and vport != m.dport):
            return "response not sent back to its sent-by (an outside view)"
        pub = _ip(m.via_received) or via
        pubport = 0 if stream else (m.via_rport or 0)
        if not stream and pubport == 0:
            return "no rport value (no port to tell)"
        if pub == via:
            return "same address (only the port differs)"
        if is_private(pub) and not is_private(via):
            return "private received= for a public sent-by"
        self._phone(m, self.site_of(m.dst), "inside", via, vport, pub, pubport)
        return None


def expected_events(cap, site_cidrs):
    """What pinhole should report for cap (an Expected), from tshark's
    messages. site_cidrs: the inventory's sites,
    [(name, [cidr...])] in order (an address's site is the first holding it)."""
    nets = [(name, [ipaddress.ip_network(c) for c in cidrs]) for name, cidrs in site_cidrs]

    def site_of(a):
        for name, ns in nets:
            if any(a.version == n.version and a in n for n in ns):
                return name
        return None

    tx, nat = _Transactions(), _Nat(site_of)
    _clock(cap, [tx, nat])
    return Expected(tx.events, nat.events, tx.late, nat.set_aside)


class Expected:
    """sip: the `sip` events, as (method, call_id, cseq, via branch, status
    (0: none), end); nat: the `nat_binding` events, as (vantage, private,
    public, old_public or ""); late: final responses that came after their
    transaction had timed out, as (its sip event, the status, whether a
    provisional response had come before); nat_set_aside: the messages
    that show a NAT on their face but that nat.c's rules do not take (host
    names, port-only differences, loopback, no rport, ...), counted by rule."""

    def __init__(self, sip, nat, late, nat_set_aside):
        self.sip, self.nat, self.late, self.nat_set_aside = sip, nat, late, nat_set_aside
