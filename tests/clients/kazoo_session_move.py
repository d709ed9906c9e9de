#!/usr/bin/env python3
"""Moves one kazoo session between the members of an ensemble.

Usage: kazoo_session_move.py HOST:PORT,HOST:PORT,... [--timeout S]

Driven by tests/server_ensemble.rs, line by line:
1. Connects with the host list in the order given (not shuffled), creates
   /move/eph (ephemeral) and /move/watched, sets a data watch on
   /move/watched, then prints "connected PORT SESSION" and waits for a line
   on stdin (the test kills the server on PORT with SIGKILL meanwhile).
2. Waits until kazoo has reconnected to another member and checks that the
   session id is the one it had and that /move/eph still exists, owned by it.
3. kazoo 2.11 drops its watches when a connection breaks: it calls every
   watcher with a NONE event and forgets them, and it has no setWatches.
   ZooKeeper's Java client instead re-sends its watches with setWatches on
   the new connection. The script does what the Java client does: it sends
   setWatches (opcode 101) through kazoo's own connection; then a second
   client connected to a third member changes /move/watched, and the
   notification for the watch set before the move must arrive (recorded as
   it comes off the wire, since kazoo no longer has a watcher to call).
4. Prints "moved PORT SESSION", waits for a line on stdin, closes the
   session and prints "closed".

Every check prints "ok ..." or "FAIL ..." (then exits 1).
"""

import argparse
import logging
import sys
import time
from collections import namedtuple

try:
    from kazoo.client import KazooClient
    from kazoo.protocol.serialization import int_struct, long_struct, write_string
    from kazoo.protocol.states import EventType, KazooState
except ImportError as e:  # pragma: no cover
    print("kazoo is missing (%s): run .ci/install-deps" % e)
    sys.exit(3)
# The suite beside this script records watch events as they come off the wire.
from kazoo_suite import CheckFailed, Events  # noqa: E402


def fail(what, got=None):
    print("FAIL %s%s" % (what, "" if got is None else ", got %r" % (got,)), flush=True)
    sys.exit(1)


def check(cond, what, got=None):
    if not cond:
        fail(what, got)
    print("ok   " + what, flush=True)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            fail(what + " within %s s" % timeout)
        time.sleep(0.05)


class SetWatches(namedtuple("SetWatches", "relative_zxid data exist child")):
    """ZooKeeper's setWatches request (opcode 101), which kazoo does not have."""

    type = 101

    def serialize(self):
        out = bytearray(long_struct.pack(self.relative_zxid))
        for paths in (self.data, self.exist, self.child):
            out.extend(int_struct.pack(len(paths)))
            for p in paths:
                out.extend(write_string(p))
        return bytes(out)

    @classmethod
    def deserialize(cls, data, offset):
        return None


def connected_port(client):
    return client._connection._socket.getpeername()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("hosts")
    parser.add_argument("--timeout", type=float, default=6.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    hosts = args.hosts.split(",")

    client = KazooClient(hosts=args.hosts, timeout=args.timeout, randomize_hosts=False)
    states = []
    client.add_listener(lambda s: states.append(s))
    client.start(timeout=15)
    notifications = Events(client)
    session, _ = client.client_id
    first_port = connected_port(client)
    client.ensure_path("/move")
    client.create("/move/eph", b"mine", ephemeral=True)
    client.create("/move/watched", b"before")
    events = []

    def watcher(event):
        events.append(event)

    client.get("/move/watched", watch=watcher)
    print("connected %d %x" % (first_port, session), flush=True)
    sys.stdin.readline()

    # kazoo notices the dead server, suspends, and tries the next host in its list.
    wait_until(lambda: KazooState.SUSPENDED in states, 20, "kazoo noticed the lost connection")
    wait_until(lambda: client.connected and states[-1] == KazooState.CONNECTED, 20, "kazoo reconnected")
    port = connected_port(client)
    check(port != first_port, "kazoo moved to another member", (first_port, port))
    check(KazooState.LOST not in states, "the session was never lost", states)
    check(client.client_id[0] == session, "the session id is unchanged", "%x" % client.client_id[0])
    client.sync("/move")
    stat = client.exists("/move/eph")
    check(stat is not None and stat.ephemeralOwner == session, "the ephemeral is still there, owned by the session", stat)
    # kazoo's own behaviour on a broken connection, not the server's.
    check(
        [(e.type, e.path) for e in events] == [(EventType.NONE, None)],
        "kazoo told its watcher the watch was dropped (a NONE event)",
        events,
    )

    result = client.handler.async_result()
    client._call(SetWatches(client.last_zxid, ["/move/watched"], [], []), result)
    result.get(timeout=10)
    check(True, "setWatches re-armed the watch on the new member")

    others = [h for h in hosts if not h.endswith(":%d" % first_port) and not h.endswith(":%d" % port)]
    writer = KazooClient(hosts=others[0], timeout=args.timeout)
    writer.start(timeout=15)
    writer.set("/move/watched", b"after")
    writer.stop()
    writer.close()
    # ZooKeeper's wire type 3 is NodeDataChanged.
    try:
        fired = bool(notifications.wait_for((3, "/move/watched"), 10))
    except CheckFailed:
        fired = False
    check(fired, "the watch set before the move fired for a write through a third member", notifications.snapshot())

    print("moved %d %x" % (port, session), flush=True)
    sys.stdin.readline()
    client.stop()
    client.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
