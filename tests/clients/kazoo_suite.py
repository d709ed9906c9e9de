#!/usr/bin/env python3
"""Self-checking client suite: drives a ZooKeeper-compatible server with kazoo.

Usage: kazoo_suite.py HOST:PORT [--only a,b] [--skip a,b] [--list]
                      [--tick-ms MS] [--super USER:PASSWORD] [--deadline S]

Every check prints one line ("ok   section: what"); the first failed check
prints "FAIL section: what, expected ..., got ..." and the script exits 1.
Exit 0 means every selected section passed. Exit 3 means kazoo is missing
(run .ci/install-deps). The suite is known to pass against Apache ZooKeeper
3.8.0 started with extendedTypesEnabled=true and
znode.container.checkIntervalMs=1000; tests/client_kazoo.rs runs it against
both that and ensemble.

Sections, in order (--list prints them): crud (CRUD, error codes, paths),
modes (ephemeral, sequential, container, TTL and their refusals), sequential
(suffix numbering), stat (every Stat field), multi (results, atomicity,
zxids, watches), watches (one-shot data/exists/child watches, check and
remove), persistent_watches (addWatch, both modes), acl (digest, auth, ip,
world, masking, super, whoAmI), auth_failure, ephemerals_count
(getEphemerals, getAllChildrenNumber), set_watches (setWatches and
setWatches2 on a resumed session), reconnect (kazoo keeps its session),
ttl_container (cleanup), sessions (timeout negotiation, passwords, close,
expiry of a killed and of a partitioned client).

kazoo 2.11 speaks only part of the 3.6+ protocol, so some sections send raw
requests through kazoo's connection (createContainer 19, createTTL 21,
checkWatches 17, removeWatches 18, getEphemerals 103, getAllChildrenNumber
104, addWatch 106, whoAmI 107), and the `set_watches` and `sessions`
sections open raw sockets: kazoo never re-sends its watches after a
reconnect (it drops them and fires a NONE event), so the server's
setWatches/setWatches2 handling is checked with a hand-written session.

Never send createTTL (21) with a non-TTL mode and ttl = -1: ZooKeeper 3.8.0
accepts it, then crashes applying the txn and cannot restart from its log.
"""

import argparse
import base64
import hashlib
import logging
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections import namedtuple

try:
    from kazoo.client import KazooClient
    from kazoo.exceptions import (
        AuthFailedError,
        BadArgumentsError,
        BadVersionError,
        InvalidACLError,
        NoAuthError,
        NoChildrenForEphemeralsError,
        NodeExistsError,
        NoNodeError,
        NotEmptyError,
        NoWatcherError,
        RolledBackError,
        RuntimeInconsistency,
    )
    from kazoo.protocol.serialization import (
        Create,
        GetData,
        Watch,
        int_struct,
        read_string,
        stat_struct,
        write_buffer,
        write_string,
    )
    from kazoo.protocol.states import EventType, KazooState, ZnodeStat
    from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, make_digest_acl
except ImportError as e:  # pragma: no cover - depends on the machine
    print("kazoo is not importable (%s): run .ci/install-deps" % e, flush=True)
    sys.exit(3)

# WatcherEvent types (Watcher.Event.EventType).
CREATED, DELETED, CHANGED, CHILD = 1, 2, 3, 4
# WatcherType for checkWatches/removeWatches.
WT_CHILDREN, WT_DATA, WT_ANY = 1, 2, 3
# addWatch modes.
PERSISTENT, PERSISTENT_RECURSIVE = 0, 1
# Perms.
READ, WRITE, CREATE, DELETE, ADMIN, ALL = 1, 2, 4, 8, 16, 31
ANYONE = Id("world", "anyone")

SEQ_SUFFIX = re.compile(r"^\d{10}$")


# --------------------------------------------------------------------------
# Checks


class CheckFailed(Exception):
    pass


SECTION = ["-"]


def ok(what):
    print("ok   %s: %s" % (SECTION[0], what), flush=True)


def note(what):
    print("note %s: %s" % (SECTION[0], what), flush=True)


def check(cond, what, detail=None):
    if not cond:
        raise CheckFailed(what if detail is None else "%s: %s" % (what, detail))
    ok(what)


def check_eq(actual, expected, what):
    check(actual == expected, what, "expected %r, got %r" % (expected, actual))


def expect_error(exc_type, fn, what):
    try:
        result = fn()
    except exc_type:
        ok(what)
        return
    except Exception as e:
        raise CheckFailed(
            "%s: expected %s, got %s: %s" % (what, exc_type.__name__, type(e).__name__, e)
        )
    raise CheckFailed("%s: expected %s, got the result %r" % (what, exc_type.__name__, result))


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred until it is true; returns the seconds it took."""
    start = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise CheckFailed("%s: not within %.1f s" % (what, timeout))
        time.sleep(interval)


def digest_id(user, password):
    raw = hashlib.sha1(("%s:%s" % (user, password)).encode()).digest()
    return "%s:%s" % (user, base64.b64encode(raw).decode())


# --------------------------------------------------------------------------
# Raw requests carried by kazoo's connection (kazoo 2.11 lacks them)


def _acl_bytes(acl):
    b = bytearray(int_struct.pack(len(acl)))
    for a in acl:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id))
    return b


def _read_create2(data, offset):
    path, offset = read_string(data, offset)
    return path, ZnodeStat._make(stat_struct.unpack_from(data, offset))


class CreateContainer(namedtuple("CreateContainer", "path data acl flags")):
    type = 19

    def serialize(self):
        return write_string(self.path) + write_buffer(self.data) + _acl_bytes(self.acl) + int_struct.pack(self.flags)

    @classmethod
    def deserialize(cls, data, offset):
        return _read_create2(data, offset)


class CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    type = 21

    def serialize(self):
        return (
            write_string(self.path)
            + write_buffer(self.data)
            + _acl_bytes(self.acl)
            + int_struct.pack(self.flags)
            + struct.pack("!q", self.ttl)
        )

    @classmethod
    def deserialize(cls, data, offset):
        return _read_create2(data, offset)


class PathAndInt(namedtuple("PathAndInt", "type path value")):
    """checkWatches (17), removeWatches (18), addWatch (106)."""

    def serialize(self):
        return write_string(self.path) + int_struct.pack(self.value)

    @classmethod
    def deserialize(cls, data, offset):
        return None


class GetEphemerals(namedtuple("GetEphemerals", "path")):
    type = 103

    def serialize(self):
        return write_string(self.path)

    @classmethod
    def deserialize(cls, data, offset):
        count = int_struct.unpack_from(data, offset)[0]
        offset += 4
        out = []
        for _ in range(max(count, 0)):
            s, offset = read_string(data, offset)
            out.append(s)
        return out


class GetAllChildrenNumber(namedtuple("GetAllChildrenNumber", "path")):
    type = 104

    def serialize(self):
        return write_string(self.path)

    @classmethod
    def deserialize(cls, data, offset):
        return int_struct.unpack_from(data, offset)[0]


class WhoAmI(namedtuple("WhoAmI", "")):
    type = 107

    def __bool__(self):
        # kazoo drops the reply of a falsy (empty) request tuple.
        return True

    def serialize(self):
        return b""

    @classmethod
    def deserialize(cls, data, offset):
        count = int_struct.unpack_from(data, offset)[0]
        offset += 4
        out = []
        for _ in range(max(count, 0)):
            scheme, offset = read_string(data, offset)
            user, offset = read_string(data, offset)
            out.append((scheme, user))
        return out


def call(client, request, timeout=10):
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=timeout)


def add_watch(client, path, mode):
    return call(client, PathAndInt(106, path, mode))


def check_watches(client, path, watcher_type):
    return call(client, PathAndInt(17, path, watcher_type))


def remove_watches(client, path, watcher_type):
    return call(client, PathAndInt(18, path, watcher_type))


def raw_create(client, path, data=b"x", acl=None, flags=0):
    return call(client, Create(path, data, OPEN_ACL_UNSAFE if acl is None else acl, flags))


# --------------------------------------------------------------------------
# Watch events as the server sent them


class Events:
    """Records every notification a kazoo client receives, before kazoo's own
    dispatch (which ignores events it has no watcher for, e.g. persistent ones)."""

    def __init__(self, client):
        self.cond = threading.Condition()
        self.items = []
        conn = client._connection
        original = conn._read_watch_event

        def record(buffer, offset):
            watch, _ = Watch.deserialize(buffer, offset)
            with self.cond:
                self.items.append((watch.type, watch.path))
                self.cond.notify_all()
            return original(buffer, offset)

        conn._read_watch_event = record

    def snapshot(self):
        with self.cond:
            return list(self.items)

    def wait_for(self, item, timeout=10):
        """Waits until `item` arrives; returns (and forgets) everything up to it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while item not in self.items:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CheckFailed("event %r did not arrive within %s s; got %r" % (item, timeout, self.items))
                self.cond.wait(left)
            i = self.items.index(item)
            taken, self.items = self.items[: i + 1], self.items[i + 1 :]
            return taken


# --------------------------------------------------------------------------
# A hand-written session, for what kazoo cannot do


def _s_str(s):
    b = s.encode()
    return struct.pack("!i", len(b)) + b


def _s_vec(strings):
    return struct.pack("!i", len(strings)) + b"".join(_s_str(s) for s in strings)


class Refused(Exception):
    pass


class RawSession:
    """One TCP connection speaking the client protocol directly."""

    def __init__(self, port, timeout_ms=10000, session_id=0, passwd=b"\0" * 16, last_zxid=0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.xid = 0
        self.events = []
        self.last_zxid = last_zxid
        body = struct.pack("!iqiq", 0, last_zxid, timeout_ms, session_id)
        body += struct.pack("!i", len(passwd)) + passwd + b"\0"
        self._send(body)
        try:
            reply = self._recv_frame()
        except (EOFError, ConnectionError) as e:
            self.sock.close()
            raise Refused("connection closed without a ConnectResponse (%s)" % e)
        _, self.timeout_ms, self.session_id = struct.unpack_from("!iiq", reply, 0)
        n = struct.unpack_from("!i", reply, 16)[0]
        self.passwd = reply[20 : 20 + n]

    def _send(self, body):
        self.sock.sendall(struct.pack("!i", len(body)) + body)

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("the server closed the connection")
            data += chunk
        return data

    def _recv_frame(self):
        n = struct.unpack("!i", self._recv_exact(4))[0]
        return self._recv_exact(n)

    def _note_event(self, frame):
        etype, _state = struct.unpack_from("!ii", frame, 16)
        n = struct.unpack_from("!i", frame, 24)[0]
        self.events.append((etype, frame[28 : 28 + n].decode()))

    def request(self, opcode, body=b"", xid=None):
        """Sends one request; returns (xid, zxid, err, body) of its reply,
        recording notifications that arrive before it."""
        if xid is None:
            self.xid += 1
            xid = self.xid
        self._send(struct.pack("!ii", xid, opcode) + body)
        while True:
            frame = self._recv_frame()
            rxid, zxid, err = struct.unpack_from("!iqi", frame, 0)
            if rxid == -1:
                self._note_event(frame)
                continue
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
            return rxid, zxid, err, frame[16:]

    def get_data(self, path, watch):
        return self.request(4, _s_str(path) + (b"\1" if watch else b"\0"))[2]

    def exists(self, path, watch):
        return self.request(3, _s_str(path) + (b"\1" if watch else b"\0"))[2]

    def get_children(self, path, watch):
        return self.request(8, _s_str(path) + (b"\1" if watch else b"\0"))[2]

    def wait_for_event(self, item, timeout=10):
        """Reads notifications until `item` arrives; returns (and forgets) all up to it."""
        self.sock.settimeout(timeout)
        try:
            while item not in self.events:
                frame = self._recv_frame()
                if struct.unpack_from("!i", frame, 0)[0] == -1:
                    self._note_event(frame)
        except socket.timeout:
            raise CheckFailed("event %r did not arrive within %s s; got %r" % (item, timeout, self.events))
        finally:
            self.sock.settimeout(10)
        i = self.events.index(item)
        taken, self.events = self.events[: i + 1], self.events[i + 1 :]
        return taken

    def drop(self):
        """Closes the socket without ending the session."""
        self.sock.close()

    def close_session(self):
        try:
            self.request(-11)
        except Exception:
            pass
        self.sock.close()


# --------------------------------------------------------------------------
# Context shared by the sections


class Context:
    def __init__(self, args):
        self.hosts = args.hosts
        self.port = int(args.hosts.rsplit(":", 1)[1])
        self.tick_ms = args.tick_ms
        self.super = args.super
        self.clients = []
        self.helpers = []
        self.base = "/kazoo-suite-%d-%d" % (os.getpid(), int(time.time() * 1000) % 10**9)
        self.markers = 0
        self.admin = self.client()
        self.admin.create(self.base)
        self.admin.create(self.base + "/markers")

    def client(self, timeout=10.0, start=True, **kwargs):
        c = KazooClient(hosts=self.hosts, timeout=timeout, **kwargs)
        self.clients.append(c)
        if start:
            c.start(timeout=15)
        return c

    def root(self, section):
        path = "%s/%s" % (self.base, section)
        self.admin.create(path)
        return path

    def barrier(self, events, watcher, writer):
        """Returns the events `watcher` received before a marker event caused
        after every earlier write of `writer` (notifications come in zxid order)."""
        self.markers += 1
        marker = "%s/markers/m%d" % (self.base, self.markers)
        watcher.exists(marker, watch=lambda e: None)
        writer.create(marker)
        return events.wait_for((CREATED, marker))[:-1]

    def close(self):
        for p in self.helpers:
            if p.poll() is None:
                p.kill()
                p.wait()
        for c in self.clients:
            try:
                c.stop()
                c.close()
            except Exception:
                pass


# --------------------------------------------------------------------------
# Sections


def s_crud(ctx):
    c = ctx.client()
    root = ctx.root("crud")
    n = root + "/n"
    check_eq(c.create(n, b"hello"), n, "create returns the path")
    check_eq(c.get(n)[0], b"hello", "get returns the data")
    check(c.exists(n) is not None, "exists finds the node")
    check_eq(c.set(n, b"world").version, 1, "set bumps the version to 1")
    check_eq(c.get(n)[0], b"world", "get sees the new data")
    expect_error(BadVersionError, lambda: c.set(n, b"x", version=0), "set with a stale version fails with BadVersion")
    check_eq(c.set(n, b"x", version=1).version, 2, "set with the current version succeeds")
    expect_error(BadVersionError, lambda: c.delete(n, version=7), "delete with a wrong version fails with BadVersion")
    c.delete(n, version=2)
    check(c.exists(n) is None, "delete with the current version removes the node")

    missing = root + "/missing"
    check(c.exists(missing) is None, "exists on a missing node returns nothing")
    expect_error(NoNodeError, lambda: c.get(missing), "get of a missing node fails with NoNode")
    expect_error(NoNodeError, lambda: c.set(missing, b"x"), "set of a missing node fails with NoNode")
    expect_error(NoNodeError, lambda: c.delete(missing), "delete of a missing node fails with NoNode")
    expect_error(NoNodeError, lambda: c.get_children(missing), "getChildren of a missing node fails with NoNode")
    expect_error(NoNodeError, lambda: c.create(missing + "/child"), "create under a missing parent fails with NoNode")
    c.create(root + "/dup")
    expect_error(NodeExistsError, lambda: c.create(root + "/dup"), "create of an existing node fails with NodeExists")

    c.create(root + "/deep/er/path", b"x", makepath=True)
    check_eq(c.get(root + "/deep/er/path")[0], b"x", "create with makepath builds the missing parents")
    expect_error(NotEmptyError, lambda: c.delete(root + "/deep"), "delete of a node with children fails with NotEmpty")
    c.delete(root + "/deep", recursive=True)
    check(c.exists(root + "/deep") is None, "recursive delete removes the subtree")

    c.create(root + "/null", None)
    data, st = c.get(root + "/null")
    check(data is None and st.dataLength == 0, "null data reads back as null", (data, st.dataLength))
    c.create(root + "/empty", b"")
    data, st = c.get(root + "/empty")
    check(data == b"" and st.dataLength == 0, "empty data reads back as empty", (data, st.dataLength))
    big = os.urandom(512 * 1024)
    c.create(root + "/big", big)
    data, st = c.get(root + "/big")
    check(data == big and st.dataLength == len(big), "512 KiB of data round-trips")

    name = "n\u00fcn-\u00e9t\u00e9 \u2713"
    c.create(root + "/" + name, "\u2713".encode())
    check(name in c.get_children(root), "a UTF-8 name is listed by getChildren")
    check_eq(c.get(root + "/" + name)[0], "\u2713".encode(), "a UTF-8 path reads back")

    many = root + "/many"
    c.create(many)
    expected = ["c%03d" % i for i in range(120)]
    for child in expected:
        c.create(many + "/" + child)
    check_eq(sorted(c.get_children(many)), expected, "getChildren lists 120 children")
    children, st = c.get_children(many, include_data=True)
    check(len(children) == 120 and st.numChildren == 120, "getChildren2 returns the children and the stat")

    check_eq(c.sync(root), root, "sync returns the path")
    check_eq(sorted(c.get_children("/zookeeper")), ["config", "quota"], "/zookeeper holds config and quota")
    expect_error(BadArgumentsError, lambda: c.delete("/"), "deleting / fails with BadArguments")
    expect_error(BadArgumentsError, lambda: c.delete("/zookeeper"), "deleting /zookeeper fails with BadArguments")

    # kazoo normalizes some paths client-side, so bad paths go out raw.
    expect_error(BadArgumentsError, lambda: raw_create(c, root + "/"), "create of a path ending in / fails with BadArguments")
    expect_error(BadArgumentsError, lambda: raw_create(c, root + "/."), "create of a path ending in /. fails with BadArguments")
    expect_error(BadArgumentsError, lambda: raw_create(c, root + "/.."), "create of a path ending in /.. fails with BadArguments")
    expect_error(BadArgumentsError, lambda: raw_create(c, "relative"), "create of a relative path fails with BadArguments")
    expect_error(BadArgumentsError, lambda: raw_create(c, root + "/a\u0000b"), "create of a path with NUL fails with BadArguments")
    # ZooKeeper looks up the parent ("<root>/") before it validates the path.
    expect_error(NoNodeError, lambda: raw_create(c, root + "//x"), "create of a path with an empty component fails with NoNode")
    expect_error(NoNodeError, lambda: call(c, GetData(root + "//x", None)), "a read of an invalid path fails with NoNode")


def s_modes(ctx):
    c = ctx.client()
    sid = c.client_id[0]
    root = ctx.root("modes")

    _, st = c.create(root + "/p", b"p", include_data=True)
    check_eq(st.ephemeralOwner, 0, "a persistent node has ephemeralOwner 0")
    _, st = c.create(root + "/e", b"e", ephemeral=True, include_data=True)
    check_eq(st.ephemeralOwner, sid, "an ephemeral node's ephemeralOwner is the session id")
    expect_error(NoChildrenForEphemeralsError, lambda: c.create(root + "/e/child"), "an ephemeral node cannot have children")
    path = c.create(root + "/s-", b"s", sequence=True)
    check(path.startswith(root + "/s-") and SEQ_SUFFIX.match(path[len(root) + 3 :]), "a sequential node gets a 10-digit suffix", path)
    check_eq(c.exists(path).ephemeralOwner, 0, "a sequential node is persistent")
    es_path, st = c.create(root + "/es-", b"es", ephemeral=True, sequence=True, include_data=True)
    check(SEQ_SUFFIX.match(es_path[len(root) + 4 :]) and st.ephemeralOwner == sid, "an ephemeral sequential node has a suffix and an owner", (es_path, st.ephemeralOwner))

    path, st = call(c, CreateContainer(root + "/cont", b"c", OPEN_ACL_UNSAFE, 4))
    check_eq(path, root + "/cont", "createContainer returns the path")
    check(st.ephemeralOwner == 0 and st.version == 0, "a container shows ephemeralOwner 0", st)
    check_eq(c.exists(root + "/cont"), st, "createContainer's stat equals the node's stat")
    c.create(root + "/cont/child")
    check_eq(c.get_children(root + "/cont"), ["child"], "a container can have children")

    path, st = call(c, CreateTTL(root + "/ttl", b"t", OPEN_ACL_UNSAFE, 5, 3600 * 1000))
    check_eq(path, root + "/ttl", "createTTL returns the path")
    check_eq(st.ephemeralOwner, 0, "a TTL node shows ephemeralOwner 0")
    check_eq(c.get(root + "/ttl")[0], b"t", "a TTL node holds its data")
    path, _ = call(c, CreateTTL(root + "/ttls-", b"t", OPEN_ACL_UNSAFE, 6, 3600 * 1000))
    check(SEQ_SUFFIX.match(path[len(root) + 6 :]), "a sequential TTL node gets a suffix", path)
    expect_error(BadArgumentsError, lambda: call(c, CreateTTL(root + "/t0", b"", OPEN_ACL_UNSAFE, 5, 0)), "createTTL with ttl 0 fails with BadArguments")
    expect_error(BadArgumentsError, lambda: call(c, CreateTTL(root + "/tbig", b"", OPEN_ACL_UNSAFE, 5, 1 << 40)), "createTTL with ttl 2^40 fails with BadArguments")
    expect_error(BadArgumentsError, lambda: call(c, CreateTTL(root + "/tp", b"", OPEN_ACL_UNSAFE, 0, 1000)), "createTTL with a persistent mode fails with BadArguments")
    expect_error(BadArgumentsError, lambda: call(c, CreateTTL(root + "/te", b"", OPEN_ACL_UNSAFE, 1, 1000)), "createTTL with an ephemeral mode fails with BadArguments")
    expect_error(BadArgumentsError, lambda: raw_create(c, root + "/t5", flags=5), "plain create with the TTL mode fails with BadArguments")
    expect_error(BadArgumentsError, lambda: raw_create(c, root + "/f7", flags=7), "create with unknown mode 7 fails with BadArguments")
    check_eq(raw_create(c, root + "/c4", flags=4), root + "/c4", "plain create with the container flag succeeds")
    note("ZooKeeper 3.8.0 makes that node an ordinary persistent one (never cleaned up); not asserted")
    c.create(root + "/e2", ephemeral=True)
    check_eq(sorted(call(c, GetEphemerals(root))), sorted([root + "/e", root + "/e2", es_path]), "getEphemerals lists the session's ephemerals")


def s_sequential(ctx):
    # ZooKeeper stores in a parent's cversion the number of child creates; the
    # suffix is that number. Clients see cversion = 2 * creates - numChildren,
    # i.e. creates plus deletes (DataNode.copyStat), so after a delete the next
    # suffix is lower than the cversion a client reads.
    c = ctx.client()
    q = ctx.root("sequential")
    n0 = c.create(q + "/n-", sequence=True)
    check_eq(n0, q + "/n-0000000000", "the first sequential child is numbered 0")
    check_eq(c.create(q + "/n-", sequence=True), q + "/n-0000000001", "the next one is numbered 1")
    c.create(q + "/plain")
    check_eq(c.create(q + "/e-", ephemeral=True, sequence=True), q + "/e-0000000003", "the counter is shared by all children, sequential or not")
    c.delete(n0)
    check_eq(c.exists(q).cversion, 5, "the visible cversion counts child creates and deletes")
    check_eq(c.create(q + "/n-", sequence=True), q + "/n-0000000004", "after a delete the suffix still counts creates only")
    check_eq(c.exists(q).cversion, 6, "the visible cversion is 2 * creates - numChildren")
    c.delete(q + "/plain")
    c.delete(q + "/n-0000000001")
    check_eq(c.exists(q).cversion, 8, "two more deletes add 2 to the visible cversion")
    check_eq(c.create(q + "/n-", sequence=True), q + "/n-0000000005", "but do not advance the suffix")
    c.set(q + "/n-0000000004", b"data")
    check_eq(c.create(q + "/x", sequence=True), q + "/x0000000006", "a child's setData does not advance the counter")
    expect_error(NodeExistsError, lambda: c.create(q + "/x0000000006"), "a create that fails")
    check_eq(c.create(q + "/", sequence=True), q + "/0000000007", "a failed create does not advance it; a path ending in / gets a bare suffix")
    t = c.transaction()
    t.create(q + "/m-", sequence=True)
    t.create(q + "/m-", sequence=True)
    check_eq(t.commit(), [q + "/m-0000000008", q + "/m-0000000009"], "sequential creates in one multi get consecutive numbers")
    t = c.transaction()
    t.create(q + "/f-", sequence=True)
    t.check(q, 12345)
    res = t.commit()
    check(isinstance(res[1], BadVersionError), "a multi with a failing check fails", res)
    check_eq(c.create(q + "/n-", sequence=True), q + "/n-0000000010", "a failed multi does not advance the counter")
    c.create(q + "/deep")
    check_eq(c.create(q + "/deep/n-", sequence=True), q + "/deep/n-0000000000", "each parent has its own counter")


def s_stat(ctx):
    c = ctx.client()
    root = ctx.root("stat")
    p = root + "/s"
    now_ms = time.time() * 1000
    path, st = c.create(p, b"abc", include_data=True)
    check_eq(path, p, "create2 returns the path")
    check(st.version == 0 and st.cversion == 0 and st.aversion == 0, "a new node has versions 0", st)
    check(st.numChildren == 0 and st.dataLength == 3 and st.ephemeralOwner == 0, "a new node has numChildren 0 and dataLength 3", st)
    check(st.czxid == st.mzxid == st.pzxid, "czxid = mzxid = pzxid for a new node", st)
    check_eq(st.czxid, c.last_zxid, "czxid is the zxid of the create's reply")
    check(st.ctime == st.mtime and abs(st.ctime - now_ms) < 60000, "ctime = mtime = the time of creation in ms", (st.ctime, now_ms))
    check_eq(c.exists(p), st, "create2's stat equals exists' stat")
    check_eq(c.get(p)[1], st, "getData's stat equals exists' stat")

    st2 = c.set(p, b"abcdef")
    check(st2.version == 1 and st2.dataLength == 6, "setData bumps version and sets dataLength", st2)
    check(st2.mzxid == c.last_zxid and st2.mzxid > st.czxid and st2.czxid == st.czxid, "setData sets mzxid to its zxid", st2)
    check(st2.pzxid == st.pzxid and st2.cversion == 0 and st2.mtime >= st.ctime, "setData leaves pzxid and cversion alone", st2)

    _, cst = c.create(p + "/child", b"", include_data=True)
    pst = c.exists(p)
    check(pst.cversion == 1 and pst.numChildren == 1, "a child create bumps cversion and numChildren", pst)
    check_eq(pst.pzxid, cst.czxid, "a child create sets the parent's pzxid to its zxid")
    check(pst.mzxid == st2.mzxid and pst.version == 1, "a child create leaves the parent's data version alone", pst)
    c.set(p + "/child", b"x")
    check_eq(c.exists(p).cversion, 1, "a child's setData leaves the parent's cversion alone")
    check_eq(c.exists(p).pzxid, cst.czxid, "a child's setData leaves the parent's pzxid alone")
    c.delete(p + "/child")
    delete_zxid = c.last_zxid
    pst = c.exists(p)
    check(pst.cversion == 2 and pst.numChildren == 0, "a child delete bumps cversion and lowers numChildren", pst)
    check(pst.pzxid == delete_zxid and delete_zxid > cst.czxid, "a child delete sets pzxid to its zxid", (pst.pzxid, delete_zxid))

    st3 = c.set_acls(p, OPEN_ACL_UNSAFE)
    check(st3.aversion == 1 and st3.version == 1, "setACL bumps aversion only", st3)
    children, st4 = c.get_children(p, include_data=True)
    check_eq(st4, c.exists(p), "getChildren2's stat equals exists' stat")
    _, est = c.create(root + "/eph", ephemeral=True, include_data=True)
    check_eq(est.ephemeralOwner, c.client_id[0], "an ephemeral's ephemeralOwner is the session id")

    before = c.last_zxid
    expect_error(NodeExistsError, lambda: c.create(p), "a create that fails")
    failed_zxid = c.last_zxid
    check(failed_zxid > before, "a failed write still gets a zxid", (before, failed_zxid))
    _, nst = c.create(root + "/after", include_data=True)
    check(nst.czxid > failed_zxid, "the next write gets a later zxid", (failed_zxid, nst.czxid))


def s_multi(ctx):
    c = ctx.client()
    w = ctx.client()
    m = ctx.root("multi")
    t = c.transaction()
    t.create(m + "/a", b"1")
    t.create(m + "/b", b"2")
    t.set_data(m + "/a", b"3")
    t.check(m + "/b", 0)
    t.delete(m + "/b")
    res = t.commit()
    multi_zxid = c.last_zxid
    check(res[0] == m + "/a" and res[1] == m + "/b", "multi returns created paths", res)
    check(isinstance(res[2], ZnodeStat) and res[2].version == 1, "multi returns setData's stat", res)
    check(res[3] is True and res[4] is True and len(res) == 5, "multi returns check and delete results", res)
    data, st = c.get(m + "/a")
    check(data == b"3" and st.version == 1 and c.exists(m + "/b") is None, "a successful multi applied every op")
    check(st.czxid == st.mzxid == multi_zxid, "all ops of a multi share one zxid", (st.czxid, st.mzxid, multi_zxid))

    t = c.transaction()
    t.create(m + "/p")
    t.create(m + "/p/child")
    t.create(m + "/gone")
    t.delete(m + "/gone")
    t.commit()
    check(c.exists(m + "/p/child") is not None and c.exists(m + "/gone") is None, "later ops see earlier ops of the same multi")

    before = c.last_zxid
    cversion = c.exists(m).cversion
    t = c.transaction()
    t.create(m + "/c")
    t.set_data(m + "/a", b"x", version=99)
    t.create(m + "/d")
    res = t.commit()
    kinds = [type(r) for r in res]
    check_eq(kinds, [RolledBackError, BadVersionError, RuntimeInconsistency], "a failed multi reports ok/rolled back, the error, then RuntimeInconsistency")
    check(c.exists(m + "/c") is None and c.exists(m + "/d") is None, "a failed multi creates nothing")
    check_eq(c.get(m + "/a")[0], b"3", "a failed multi changes nothing")
    check_eq(c.exists(m).cversion, cversion, "a failed multi leaves cversion alone")
    check(c.last_zxid > before, "a failed multi still consumes a zxid", (before, c.last_zxid))

    t = c.transaction()
    t.delete(m + "/nope")
    t.create(m + "/e")
    check_eq([type(r) for r in t.commit()], [NoNodeError, RuntimeInconsistency], "a multi failing on its first op")
    t = c.transaction()
    t.create(m + "/e")
    t.create(m + "/a")
    check_eq([type(r) for r in t.commit()], [RolledBackError, NodeExistsError], "a multi failing on NodeExists")
    t = c.transaction()
    t.check(m + "/a", 0)
    check_eq([type(r) for r in t.commit()], [BadVersionError], "a lone failing check")
    t = c.transaction()
    t.delete(m + "/p")
    check_eq([type(r) for r in t.commit()], [NotEmptyError], "a multi failing on NotEmpty")
    check_eq(c.transaction().commit(), [], "an empty multi succeeds with no results")

    t = c.transaction()
    t.create(m + "/eph", ephemeral=True)
    t.commit()
    check_eq(c.exists(m + "/eph").ephemeralOwner, c.client_id[0], "an ephemeral created in a multi belongs to the session")

    ev = Events(w)
    w.get(m + "/a", watch=lambda e: None)
    w.get_children(m + "/p", watch=lambda e: None)
    t = c.transaction()
    t.set_data(m + "/a", b"4")
    t.delete(m + "/p/child")
    t.commit()
    check_eq(ctx.barrier(ev, w, c), [(CHANGED, m + "/a"), (CHILD, m + "/p")], "a multi fires the watches of its ops, in op order")


def s_watches(ctx):
    a = ctx.client()
    b = ctx.client()
    ev = Events(a)
    root = ctx.root("watches")
    p = root + "/w"
    b.create(p, b"0")

    fired = []
    a.get(p, watch=fired.append)
    b.set(p, b"1")
    check_eq(ev.wait_for((CHANGED, p)), [(CHANGED, p)], "a data watch fires NodeDataChanged on setData")
    wait_until(lambda: fired, 5, "kazoo calls the watcher")
    check(fired[0].type == EventType.CHANGED and fired[0].path == p, "kazoo reports CHANGED with the path", fired)
    b.set(p, b"2")
    check_eq(ctx.barrier(ev, a, b), [], "a standard watch fires only once")

    a.exists(root + "/x", watch=lambda e: None)
    b.create(root + "/x")
    check_eq(ctx.barrier(ev, a, b), [(CREATED, root + "/x")], "an exists watch on a missing node fires NodeCreated")
    a.exists(root + "/x", watch=lambda e: None)
    b.set(root + "/x", b"1")
    check_eq(ctx.barrier(ev, a, b), [(CHANGED, root + "/x")], "an exists watch on a node fires NodeDataChanged")
    a.exists(root + "/x", watch=lambda e: None)
    b.delete(root + "/x")
    check_eq(ctx.barrier(ev, a, b), [(DELETED, root + "/x")], "an exists watch fires NodeDeleted")

    a.get_children(p, watch=lambda e: None)
    b.create(p + "/c1")
    check_eq(ctx.barrier(ev, a, b), [(CHILD, p)], "a child watch fires NodeChildrenChanged on a child create")
    a.get_children(p, watch=lambda e: None)
    b.set(p + "/c1", b"x")
    b.create(p + "/c1/grandchild")
    check_eq(ctx.barrier(ev, a, b), [], "a child's setData and a grandchild create do not fire a child watch")
    b.delete(p + "/c1/grandchild")
    b.delete(p + "/c1")
    check_eq(ctx.barrier(ev, a, b), [(CHILD, p)], "a child delete fires the (still armed) child watch")

    a.get(p, watch=lambda e: None)
    b.set_acls(p, OPEN_ACL_UNSAFE)
    b.sync(p)
    check_eq(ctx.barrier(ev, a, b), [], "setACL and sync fire nothing")
    b.set(p, b"3")
    check_eq(ctx.barrier(ev, a, b), [(CHANGED, p)], "the data watch is still armed after setACL")

    a.get(p, watch=lambda e: None)
    a.exists(p, watch=lambda e: None)
    b.set(p, b"4")
    check_eq(ctx.barrier(ev, a, b), [(CHANGED, p)], "getData and exists watches on one path send one event")

    a.get(p, watch=lambda e: None)
    a.set(p, b"5")
    check((CHANGED, p) in ev.snapshot(), "the notification arrives before the reply to the write that caused it")
    ev.wait_for((CHANGED, p))

    b.create(root + "/d")
    b.create(root + "/d/kid")
    a.get(root + "/d", watch=lambda e: None)
    a.get_children(root + "/d", watch=lambda e: None)
    b.delete(root + "/d/kid")
    b.delete(root + "/d")
    check_eq(ctx.barrier(ev, a, b), [(CHILD, root + "/d"), (DELETED, root + "/d")], "a node delete fires NodeDeleted to data and child watchers once")

    expect_error(NoWatcherError, lambda: check_watches(a, p, WT_ANY), "checkWatches without a watch fails with NoWatcher")
    a.get(p, watch=lambda e: None)
    check_watches(a, p, WT_DATA)
    ok("checkWatches finds a data watch")
    expect_error(NoWatcherError, lambda: check_watches(a, p, WT_CHILDREN), "checkWatches for a child watch fails with NoWatcher")
    remove_watches(a, p, WT_DATA)
    ok("removeWatches removes a data watch")
    expect_error(NoWatcherError, lambda: remove_watches(a, p, WT_DATA), "removing it again fails with NoWatcher")
    b.set(p, b"6")
    check_eq(ctx.barrier(ev, a, b), [], "a removed watch does not fire")
    a.get_children(p, watch=lambda e: None)
    remove_watches(a, p, WT_ANY)
    b.create(p + "/c2")
    check_eq(ctx.barrier(ev, a, b), [], "removeWatches(Any) removes a child watch")


def s_persistent_watches(ctx):
    a = ctx.client()
    b = ctx.client()
    ev = Events(a)
    root = ctx.root("persistent")
    p = root + "/pw"
    add_watch(a, p, PERSISTENT)
    ok("addWatch(PERSISTENT) on a missing node succeeds")
    b.create(p)
    b.set(p, b"1")
    b.set(p, b"2")
    b.create(p + "/c")
    b.create(p + "/c/d")
    b.set(p + "/c", b"x")
    b.delete(p + "/c/d")
    b.delete(p + "/c")
    b.delete(p)
    b.create(p)
    check_eq(
        ctx.barrier(ev, a, b),
        [(CREATED, p), (CHANGED, p), (CHANGED, p), (CHILD, p), (CHILD, p), (DELETED, p), (CREATED, p)],
        "a persistent watch fires on every change of the node and of its child list, and stays",
    )
    check_watches(a, p, WT_ANY)
    ok("checkWatches(Any) finds a persistent watch")

    r = root + "/rw"
    add_watch(a, r, PERSISTENT_RECURSIVE)
    b.create(r)
    b.create(r + "/a")
    b.create(r + "/a/b")
    b.set(r + "/a/b", b"x")
    b.delete(r + "/a/b")
    b.set(r, b"y")
    check_eq(
        ctx.barrier(ev, a, b),
        [(CREATED, r), (CREATED, r + "/a"), (CREATED, r + "/a/b"), (CHANGED, r + "/a/b"), (DELETED, r + "/a/b"), (CHANGED, r)],
        "a recursive watch fires for the whole subtree and never sends NodeChildrenChanged",
    )
    b.create(root + "/rw2")
    check_eq(ctx.barrier(ev, a, b), [], "a recursive watch does not cover a sibling sharing its prefix")
    remove_watches(a, r, WT_ANY)
    expect_error(NoWatcherError, lambda: check_watches(a, r, WT_ANY), "after removeWatches(Any) checkWatches fails with NoWatcher")
    b.create(r + "/z")
    check_eq(ctx.barrier(ev, a, b), [], "a removed recursive watch no longer fires")


def s_acl(ctx):
    root = ctx.root("acl")
    alice = ctx.client()
    alice.add_auth("digest", "alice:pw")
    bob = ctx.client()
    alice_id = digest_id("alice", "pw")
    check_eq(alice_id, make_digest_acl("alice", "pw").id.id, "digest ids are user:base64(sha1(user:password))")

    n = root + "/readable"
    alice.create(n, b"d", acl=[make_digest_acl("alice", "pw", all=True), ACL(READ, ANYONE)])
    check_eq(bob.get(n)[0], b"d", "world READ lets anyone read")
    expect_error(NoAuthError, lambda: bob.set(n, b"x"), "setData without WRITE fails with NoAuth")
    expect_error(NoAuthError, lambda: bob.create(n + "/c"), "create without CREATE on the parent fails with NoAuth")
    expect_error(NoAuthError, lambda: bob.set_acls(n, OPEN_ACL_UNSAFE), "setACL without ADMIN fails with NoAuth")
    acl, _ = bob.get_acls(n)
    check_eq([(a.perms, a.id.scheme, a.id.id) for a in acl], [(ALL, "digest", "alice:x"), (READ, "world", "anyone")], "getACL without ADMIN masks digest ids as user:x")
    acl, _ = alice.get_acls(n)
    check_eq([(a.perms, a.id.scheme, a.id.id) for a in acl], [(ALL, "digest", alice_id), (READ, "world", "anyone")], "getACL with ADMIN shows the digest")
    alice.set(n, b"e")
    alice.create(n + "/c")
    ok("the digest user can write and create")

    s = root + "/secret"
    alice.create(s, b"s", acl=[make_digest_acl("alice", "pw", all=True)])
    alice.create(s + "/kid", b"")
    expect_error(NoAuthError, lambda: bob.get(s), "getData without READ fails with NoAuth")
    expect_error(NoAuthError, lambda: bob.get_children(s), "getChildren without READ fails with NoAuth")
    expect_error(NoAuthError, lambda: bob.get_acls(s), "getACL without READ or ADMIN fails with NoAuth")
    expect_error(NoAuthError, lambda: bob.delete(s + "/kid"), "delete without DELETE on the parent fails with NoAuth")
    try:
        bob.exists(s)
        note("exists without READ succeeds (ZooKeeper 3.8.0 behaviour; 3.8.4+ requires READ); not asserted")
    except NoAuthError:
        note("exists without READ fails with NoAuth (ZooKeeper 3.8.4+ behaviour); not asserted")
    mine = root + "/mine"
    alice.create(mine, b"", acl=[make_digest_acl("alice", "pw", all=True)])
    bob.delete(mine)
    check(alice.exists(mine) is None, "delete needs DELETE on the parent only, not on the node")

    rw = root + "/no-admin"
    alice.create(rw, b"", acl=[make_digest_acl("alice", "pw", read=True, write=True)])
    acl, _ = alice.get_acls(rw)
    check_eq([a.id.id for a in acl], ["alice:x"], "masking depends on ADMIN, even for the digest's own user")

    expect_error(InvalidACLError, lambda: bob.create(root + "/auth-none", acl=[ACL(ALL, Id("auth", ""))]), "an auth ACL without authenticated ids fails with InvalidACL")
    alice.create(root + "/auth", acl=[ACL(ALL, Id("auth", ""))])
    acl, _ = alice.get_acls(root + "/auth")
    check_eq([(a.perms, a.id.scheme, a.id.id) for a in acl], [(ALL, "digest", alice_id)], "an auth ACL becomes the caller's digest id")
    expect_error(InvalidACLError, lambda: raw_create(alice, root + "/empty-acl", acl=[]), "an empty ACL fails with InvalidACL")
    expect_error(InvalidACLError, lambda: alice.create(root + "/w", acl=[ACL(ALL, Id("world", "someone"))]), "world with an id other than anyone fails with InvalidACL")
    expect_error(InvalidACLError, lambda: alice.create(root + "/u", acl=[ACL(ALL, Id("nosuchscheme", "x"))]), "an unknown scheme fails with InvalidACL")
    expect_error(InvalidACLError, lambda: alice.create(root + "/d", acl=[ACL(ALL, Id("digest", "nocolon"))]), "a digest id without a colon fails with InvalidACL")

    alice.create(root + "/ip-local", b"l", acl=[ACL(ALL, Id("ip", "127.0.0.1"))])
    check_eq(bob.get(root + "/ip-local")[0], b"l", "an ip ACL for 127.0.0.1 admits a loopback client")
    alice.create(root + "/ip-other", b"o", acl=[ACL(ALL, Id("ip", "10.0.0.0/8"))])
    expect_error(NoAuthError, lambda: bob.get(root + "/ip-other"), "an ip ACL for 10.0.0.0/8 refuses a loopback client")

    check_eq(alice.set_acls(n, [ACL(ALL, ANYONE)], version=0).aversion, 1, "setACL with the current aversion succeeds")
    expect_error(BadVersionError, lambda: alice.set_acls(n, [ACL(ALL, ANYONE)], version=0), "setACL with a stale aversion fails with BadVersion")

    check_eq(sorted(call(bob, WhoAmI())), [("ip", "127.0.0.1")], "whoAmI of an unauthenticated client is its ip")
    check_eq(sorted(call(alice, WhoAmI())), [("digest", "alice"), ("ip", "127.0.0.1")], "whoAmI lists the digest user")
    bob.add_auth("digest", "alice:wrong")
    ok("digest auth with a wrong password is accepted")
    expect_error(NoAuthError, lambda: bob.get(s), "but it grants nothing")

    if ctx.super:
        user, password = ctx.super.split(":", 1)
        su = ctx.client()
        su.add_auth("digest", "%s:%s" % (user, password))
        check_eq(su.get(s)[0], b"s", "the super user reads anything")
        acl, _ = su.get_acls(s)
        check_eq([a.id.id for a in acl], [alice_id], "the super user sees unmasked digests")
        check_eq(sorted(call(su, WhoAmI())), sorted([("super", ""), ("digest", user), ("ip", "127.0.0.1")]), "whoAmI of the super user")
    else:
        note("no --super given: super user checks skipped")

    # Leave nothing unreadable behind: ephemerals_count walks the whole tree.
    alice.delete(s + "/kid")
    for path in (s, rw, root + "/ip-other"):
        alice.delete(path)


def s_auth_failure(ctx):
    c = ctx.client()
    states = []
    c.add_listener(states.append)
    expect_error(AuthFailedError, lambda: c.add_auth("nosuchscheme", "x"), "auth with an unknown scheme fails with AuthFailed")
    wait_until(lambda: KazooState.LOST in states, 10, "the session is lost after AuthFailed")
    ok("the server closes the connection after AuthFailed")


def s_ephemerals_count(ctx):
    c = ctx.client()
    d = ctx.client()
    root = ctx.root("ephemerals")
    c.create(root + "/eph")
    for name in ("a", "ab", "b"):
        c.create(root + "/eph/" + name, ephemeral=True)
    d.create(root + "/eph/d", ephemeral=True)
    mine = [root + "/eph/" + n for n in ("a", "ab", "b")]
    check_eq(sorted(call(c, GetEphemerals(root + "/eph"))), mine, "getEphemerals lists only the caller's ephemerals")
    check_eq(sorted(call(c, GetEphemerals(root + "/eph/a"))), mine[:2], "getEphemerals matches a string prefix, not a path prefix")
    check_eq(sorted(call(c, GetEphemerals("/"))), mine, "getEphemerals(/) lists all of the caller's ephemerals")
    check_eq(call(d, GetEphemerals("/")), [root + "/eph/d"], "another session sees its own")
    check_eq(call(c, GetEphemerals(root + "/none")), [], "a prefix matching nothing gives an empty list")

    c.create(root + "/cnt/x/y/z", makepath=True)
    c.create(root + "/cnt/x/w")
    c.create(root + "/cnt/v")
    check_eq(call(c, GetAllChildrenNumber(root + "/cnt")), 5, "getAllChildrenNumber counts all descendants")
    check_eq(call(c, GetAllChildrenNumber(root + "/cnt/v")), 0, "a leaf has no descendants")
    expect_error(NoNodeError, lambda: call(c, GetAllChildrenNumber(root + "/nope")), "getAllChildrenNumber of a missing node fails with NoNode")

    reader = c
    if ctx.super:
        reader = ctx.client()
        reader.add_auth("digest", ctx.super)

    def walk(path):
        total = 0
        for child in reader.get_children(path):
            total += 1 + walk(path.rstrip("/") + "/" + child)
        return total

    try:
        expected = walk("/")
    except NoAuthError:
        note("some node is unreadable and no --super was given: the count of / is not checked")
        return
    check_eq(call(c, GetAllChildrenNumber("/")), expected, "getAllChildrenNumber(/) counts every node but the root, /zookeeper included")


def s_set_watches(ctx):
    w = ctx.client()
    root = ctx.root("setwatches")
    for name in ("a", "b", "gone", "c", "c2", "dgone"):
        w.create(root + "/" + name)
    r = RawSession(ctx.port)
    for name in ("a", "b", "gone"):
        check_eq(r.get_data(root + "/" + name, True), 0, "raw getData with a watch on " + name)
    for name in ("missing", "missing2"):
        check_eq(r.exists(root + "/" + name, True), -101, "raw exists with a watch on missing " + name)
    for path in (root, root + "/c", root + "/c2", root + "/dgone"):
        check_eq(r.get_children(path, True), 0, "raw getChildren with a watch on " + path[len(root) :])
    session_id, passwd, seen = r.session_id, r.passwd, r.last_zxid
    r.drop()

    # While the session has no connection, change what it watches.
    w.set(root + "/a", b"changed")
    w.delete(root + "/gone")
    w.create(root + "/missing")
    w.create(root + "/c/kid")
    w.delete(root + "/dgone")

    r = RawSession(ctx.port, 10000, session_id, passwd, seen)
    check_eq(r.session_id, session_id, "a reconnect with the password resumes the session")
    body = struct.pack("!q", seen)
    body += _s_vec([root + "/a", root + "/b", root + "/gone"])
    body += _s_vec([root + "/missing", root + "/missing2"])
    body += _s_vec([root, root + "/c", root + "/c2", root + "/dgone"])
    rxid, _, err, _ = r.request(101, body, xid=-8)
    check(rxid == -8 and err == 0, "setWatches is answered with xid -8 and no error", (rxid, err))
    expected = {
        (CHANGED, root + "/a"),
        (DELETED, root + "/gone"),
        (CREATED, root + "/missing"),
        (CHILD, root),
        (CHILD, root + "/c"),
        (DELETED, root + "/dgone"),
    }
    check_eq(set(r.events), expected, "setWatches fires what changed after relativeZxid, before its reply")
    check_eq(len(r.events), len(expected), "each missed change fires once")
    r.events.clear()
    w.set(root + "/b", b"x")
    w.create(root + "/missing2")
    w.create(root + "/c2/kid")
    w.set(root + "/a", b"again")
    w.create(root + "/c/kid2")
    check_eq(r.exists(root + "/marker", True), -101, "raw exists with a watch on a marker")
    w.create(root + "/marker")
    check_eq(
        r.wait_for_event((CREATED, root + "/marker"))[:-1],
        [(CHANGED, root + "/b"), (CREATED, root + "/missing2"), (CHILD, root + "/c2")],
        "unchanged watches are re-armed; the ones that fired are gone",
    )

    r.events.clear()
    _, _, err, _ = r.request(106, _s_str(root + "/c") + struct.pack("!i", PERSISTENT_RECURSIVE))
    check_eq(err, 0, "raw addWatch(PERSISTENT_RECURSIVE)")
    seen = r.last_zxid
    r.drop()
    w.create(root + "/c/during")
    r = RawSession(ctx.port, 10000, session_id, passwd, seen)
    body = struct.pack("!q", seen) + _s_vec([]) + _s_vec([]) + _s_vec([]) + _s_vec([]) + _s_vec([root + "/c"])
    rxid, _, err, _ = r.request(105, body, xid=-8)
    check(rxid == -8 and err == 0, "setWatches2 with a recursive watch is accepted", (rxid, err))
    check_eq(r.events, [], "setWatches2 replays nothing for persistent watches")
    w.create(root + "/c/after")
    check_eq(r.wait_for_event((CREATED, root + "/c/after")), [(CREATED, root + "/c/after")], "the recursive watch is re-armed by setWatches2, with no catch-up event")

    try:
        RawSession(ctx.port, 10000, 0, b"\0" * 16, seen + (1 << 40))
        raise CheckFailed("a connect with a lastZxidSeen ahead of the server was answered")
    except Refused:
        ok("a connect with a lastZxidSeen ahead of the server is closed without a reply")
    r.close_session()


def s_reconnect(ctx):
    a = ctx.client(timeout=10.0)
    b = ctx.client()
    root = ctx.root("reconnect")
    states = []
    a.add_listener(states.append)
    session_id = a.client_id[0]
    eph = root + "/eph"
    a.create(eph, b"", ephemeral=True)
    b.create(root + "/w", b"0")
    lost_watch = []
    a.get(root + "/w", watch=lost_watch.append)

    a._connection._socket.shutdown(socket.SHUT_RDWR)
    wait_until(lambda: KazooState.SUSPENDED in states, 10, "kazoo notices the dropped connection")
    wait_until(lambda: a.connected and states[-1] == KazooState.CONNECTED, 15, "kazoo reconnects")
    ok("the client reconnected after its socket was shut down")
    check_eq(a.client_id[0], session_id, "the session id is unchanged after the reconnect")
    check(KazooState.LOST not in states, "the session was not lost", states)
    check_eq(b.exists(eph).ephemeralOwner, session_id, "the ephemeral survives the reconnect")
    check(a.exists(eph) is not None, "the reconnected client sees its ephemeral")
    if lost_watch and lost_watch[0].type == EventType.NONE:
        note("kazoo dropped its watch at the disconnect (NONE event); setWatches is covered by set_watches")
    fired = []
    a.get(root + "/w", watch=fired.append)
    b.set(root + "/w", b"1")
    wait_until(lambda: fired, 10, "a watch set after the reconnect fires")
    check(fired[0].type == EventType.CHANGED, "a watch set after the reconnect fires NodeDataChanged", fired)
    a.set(root + "/w", b"2")
    ok("the resumed session can write")


def s_ttl_container(ctx):
    c = ctx.client()
    root = ctx.root("ttl_container")
    call(c, CreateContainer(root + "/never", b"", OPEN_ACL_UNSAFE, 4))
    call(c, CreateContainer(root + "/keep", b"", OPEN_ACL_UNSAFE, 4))
    c.create(root + "/keep/child")
    call(c, CreateContainer(root + "/cont", b"", OPEN_ACL_UNSAFE, 4))
    c.create(root + "/cont/child")
    c.delete(root + "/cont/child")
    took = wait_until(lambda: c.exists(root + "/cont") is None, 15, "an emptied container is deleted")
    ok("an emptied container is deleted (after %.1f s)" % took)
    check(c.exists(root + "/never") is not None, "a container that never had a child stays")
    check(c.exists(root + "/keep") is not None, "a container with a child stays")

    holder = ctx.client()
    call(c, CreateContainer(root + "/lock", b"", OPEN_ACL_UNSAFE, 4))
    holder.create(root + "/lock/owner", ephemeral=True)
    holder.stop()
    took = wait_until(lambda: c.exists(root + "/lock") is None, 15, "a container emptied by a session close is deleted")
    ok("a container emptied by a session close is deleted (after %.1f s)" % took)

    call(c, CreateTTL(root + "/ttl", b"", OPEN_ACL_UNSAFE, 5, 500))
    call(c, CreateTTL(root + "/ttl-kept", b"", OPEN_ACL_UNSAFE, 5, 500))
    c.create(root + "/ttl-kept/child")
    call(c, CreateTTL(root + "/ttl-long", b"", OPEN_ACL_UNSAFE, 5, 3600 * 1000))
    took = wait_until(lambda: c.exists(root + "/ttl") is None, 15, "a TTL node unmodified for its TTL is deleted")
    ok("a TTL node with ttl 500 ms is deleted (after %.1f s)" % took)
    check(c.exists(root + "/ttl-kept") is not None, "an expired TTL node with a child stays")
    check(c.exists(root + "/ttl-long") is not None, "a TTL node within its TTL stays")
    c.delete(root + "/ttl-kept/child")
    took = wait_until(lambda: c.exists(root + "/ttl-kept") is None, 15, "an expired TTL node goes once childless")
    ok("an expired TTL node goes once childless (after %.1f s)" % took)


def s_sessions(ctx):
    tick = ctx.tick_ms
    for asked, expected in ((1000, max(1000, 2 * tick)), (3 * tick, 3 * tick), (100000, min(100000, 20 * tick))):
        r = RawSession(ctx.port, asked)
        check_eq(r.timeout_ms, expected, "session timeout %d ms is negotiated to %d ms (tick %d)" % (asked, expected, tick))
        check(r.session_id != 0 and len(r.passwd) == 16, "a new session has an id and a 16-byte password")
        r.close_session()

    w = ctx.client()
    root = ctx.root("sessions")
    c = ctx.client()
    c.create(root + "/closed", ephemeral=True)
    c.stop()
    check(w.exists(root + "/closed") is None, "closing a session deletes its ephemerals at once")

    r = RawSession(ctx.port, 10000)
    session_id, passwd = r.session_id, r.passwd
    err = r.request(1, _s_str(root + "/raw-eph") + write_buffer(b"") + _acl_bytes(OPEN_ACL_UNSAFE) + int_struct.pack(1))[2]
    check_eq(err, 0, "a raw session creates an ephemeral")
    r.drop()
    bad = RawSession(ctx.port, 10000, session_id, b"\x01" * 16)
    check(bad.timeout_ms == 0 and bad.session_id == 0, "a reconnect with a wrong password is told the session expired", (bad.timeout_ms, bad.session_id))
    bad.drop()
    check(w.exists(root + "/raw-eph") is not None, "a wrong password does not end the session")
    again = RawSession(ctx.port, 10000, session_id, passwd)
    check_eq(again.session_id, session_id, "the right password still resumes it")
    again.close_session()
    check(w.exists(root + "/raw-eph") is None, "closeSession over a raw connection deletes the ephemeral")
    unknown = RawSession(ctx.port, 10000, 0x7F00001234567890, b"\x02" * 16)
    check(unknown.timeout_ms == 0 and unknown.session_id == 0, "a reconnect to an unknown session is told it expired")
    unknown.drop()

    # Two sessions expire side by side, to keep the suite short: one whose
    # client process is SIGKILLed, one whose client is partitioned (its
    # reconnects go to a dead port until the server has expired the session;
    # then it comes back and must be told so).
    silent = root + "/silent"
    helper = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), ctx.hosts, "--hold-ephemeral", silent],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    ctx.helpers.append(helper)
    line = b""
    deadline = time.monotonic() + 30
    while not line.startswith(b"READY") and time.monotonic() < deadline:
        ready, _, _ = select.select([helper.stdout], [], [], 1)
        if ready:
            line = helper.stdout.readline()
            if not line:
                break
    check(line.startswith(b"READY"), "the helper process created its ephemeral", line)

    partitioned = root + "/partitioned"
    a = ctx.client(timeout=HELPER_TIMEOUT_MS / 1000.0, connection_retry=dict(max_tries=-1, delay=0.1, backoff=1, max_delay=0.2))
    states = []
    a.add_listener(states.append)
    a.create(partitioned, ephemeral=True)
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    a.set_hosts("127.0.0.1:%d" % dead_port)

    helper.kill()
    helper.wait()
    a._connection._socket.shutdown(socket.SHUT_RDWR)
    cut = time.monotonic()
    wait_until(lambda: KazooState.SUSPENDED in states, 10, "the partitioned client notices")
    time.sleep(0.5)
    check(w.exists(silent) is not None, "an ephemeral outlives its SIGKILLed client's connection")
    check(w.exists(partitioned) is not None, "an ephemeral outlives its partitioned client's connection")
    timeout_ms = min(max(HELPER_TIMEOUT_MS, 2 * tick), 20 * tick)
    limit = timeout_ms / 1000.0 + 2 * tick / 1000.0 + 5
    for path, who in ((silent, "SIGKILLed"), (partitioned, "partitioned")):
        wait_until(lambda: w.exists(path) is None, limit, "the ephemeral of the %s client's session is deleted" % who)
        gone = time.monotonic() - cut
        check(gone >= 1.0, "the %s client's session expired after %.1f s (timeout %d ms), not at once" % (who, gone, timeout_ms), gone)
    a.set_hosts(ctx.hosts)
    wait_until(lambda: KazooState.LOST in states, 20, "the partitioned client learns its session expired when it reconnects")
    ok("the partitioned client learns its session expired when it reconnects")


HELPER_TIMEOUT_MS = 4000


def hold_ephemeral(hosts, path):
    """Helper process for s_sessions: holds an ephemeral until killed (at most 120 s)."""
    c = KazooClient(hosts=hosts, timeout=HELPER_TIMEOUT_MS / 1000.0)
    c.start(timeout=15)
    c.create(path, b"", ephemeral=True)
    print("READY 0x%x" % c.client_id[0], flush=True)
    time.sleep(120)
    os._exit(0)


SECTIONS = [
    ("crud", s_crud),
    ("modes", s_modes),
    ("sequential", s_sequential),
    ("stat", s_stat),
    ("multi", s_multi),
    ("watches", s_watches),
    ("persistent_watches", s_persistent_watches),
    ("acl", s_acl),
    ("auth_failure", s_auth_failure),
    ("ephemerals_count", s_ephemerals_count),
    ("set_watches", s_set_watches),
    ("reconnect", s_reconnect),
    ("ttl_container", s_ttl_container),
    ("sessions", s_sessions),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hosts", help="HOST:PORT of the server")
    parser.add_argument("--only", default="", help="comma-separated sections to run")
    parser.add_argument("--skip", default="", help="comma-separated sections to skip")
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    parser.add_argument("--tick-ms", type=int, default=2000, help="the server's tickTime (for timeout checks)")
    parser.add_argument("--super", default=None, help="USER:PASSWORD of the server's superDigest")
    parser.add_argument("--deadline", type=int, default=300, help="fail if the suite takes longer (s)")
    parser.add_argument("--hold-ephemeral", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.hold_ephemeral:
        hold_ephemeral(args.hosts, args.hold_ephemeral)
        return 0
    names = [n for n, _ in SECTIONS]
    if args.list:
        print("\n".join(names))
        return 0
    only = [s for s in args.only.split(",") if s]
    skip = [s for s in args.skip.split(",") if s]
    for s in only + skip:
        if s not in names:
            print("unknown section %r; sections: %s" % (s, ", ".join(names)))
            return 2
    selected = [(n, f) for n, f in SECTIONS if (not only or n in only) and n not in skip]

    logging.basicConfig(level=logging.ERROR, format="log  %(name)s: %(message)s")
    ctx = [None]

    def on_deadline(signum, frame):
        print("FAIL %s: the suite exceeded its %d s deadline" % (SECTION[0], args.deadline), flush=True)
        if ctx[0] is not None:
            for p in ctx[0].helpers:
                if p.poll() is None:
                    p.kill()
        os._exit(1)

    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(args.deadline)
    started = time.monotonic()
    status = 0
    try:
        ctx[0] = Context(args)
        print("kazoo suite against %s under %s" % (args.hosts, ctx[0].base), flush=True)
        for name, fn in selected:
            SECTION[0] = name
            t0 = time.monotonic()
            fn(ctx[0])
            print("pass %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
    except CheckFailed as e:
        print("FAIL %s: %s" % (SECTION[0], e), flush=True)
        status = 1
    except Exception as e:
        print("FAIL %s: unexpected %s: %s" % (SECTION[0], type(e).__name__, e), flush=True)
        traceback.print_exc(file=sys.stdout)
        status = 1
    finally:
        if ctx[0] is not None:
            ctx[0].close()
    if status == 0:
        print("all %d sections passed in %.1f s" % (len(selected), time.monotonic() - started), flush=True)
    sys.stdout.flush()
    # kazoo's threads can linger after stop(); do not wait for them.
    os._exit(status)


if __name__ == "__main__":
    main()
