"""A fake desktop notification server for the GUI test: records every Notify call.

Run: python fake_notifyd.py OUT.jsonl [--forward BUS_ADDRESS]. It owns
org.freedesktop.Notifications on the session bus, appends each call to OUT.jsonl, and with
--forward passes it on to a real server (dunst) on another bus so a screenshot can show it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from jeepney import (
    DBusAddress,
    HeaderFields,
    MessageType,
    new_error,
    new_method_call,
    new_method_return,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
NOTIFY_SIGNATURE = "susssasa{sv}i"
_ARGS = "".join(f'<arg type="{t}" direction="in"/>' for t in ("s", "u", "s", "s", "s", "as"))
XML = (
    f'<node><interface name="{NAME}"><method name="Notify">{_ARGS}'
    '<arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>'
    '<arg type="u" direction="out"/></method>'
    '<method name="GetCapabilities"><arg type="as" direction="out"/></method>'
    '<method name="GetServerInformation"><arg type="s" direction="out"/>'
    '<arg type="s" direction="out"/><arg type="s" direction="out"/>'
    '<arg type="s" direction="out"/></method>'
    '<method name="CloseNotification"><arg type="u" direction="in"/></method>'
    "</interface></node>"
)
REPLIES = {
    "Introspect": ("s", (XML,)),
    "GetCapabilities": ("as", (["body", "actions"],)),
    "GetServerInformation": ("ssss", ("fake-notifyd", "megabackup-tests", "1", "1.2")),
    "CloseNotification": ("", ()),
}


def serve(out: Path, forward: DBusConnection | None) -> None:
    bus = open_dbus_connection(bus="SESSION")
    reply = bus.send_and_get_reply(message_bus.RequestName(NAME, 4))  # 4: do not queue
    if reply.body[0] != 1:
        raise SystemExit(f"fake_notifyd: could not own {NAME} (reply {reply.body[0]})")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch()  # its existence tells the test the name is owned
    count = 0
    while True:
        msg = bus.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        member = msg.header.fields.get(HeaderFields.member)
        if member == "Notify":
            app, _replaces, icon, summary, body, actions, _hints, timeout = msg.body
            count += 1
            record = {"app": app, "icon": icon, "summary": summary, "body": body}
            record.update(actions=list(actions), timeout=timeout)
            with out.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps(record) + "\n")
            if forward is not None:
                _forward(forward, (app, 0, "", summary, body, [], {}, 0))
            bus.send(new_method_return(msg, "u", (count,)))
        elif member in REPLIES:
            bus.send(new_method_return(msg, *REPLIES[member]))
        else:
            bus.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))


def _forward(connection: DBusConnection, args: tuple) -> None:
    target = DBusAddress(PATH, bus_name=NAME, interface=NAME)
    try:  # the record is what the test checks; the rendering is only for the screenshot
        connection.send_and_get_reply(
            new_method_call(target, "Notify", NOTIFY_SIGNATURE, args), timeout=5
        )
    except Exception as exc:
        print(f"fake_notifyd: could not forward: {exc!r}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--forward", metavar="BUS_ADDRESS")
    args = parser.parse_args()
    forward = open_dbus_connection(bus=args.forward) if args.forward else None
    serve(args.out, forward)


if __name__ == "__main__":
    main()
