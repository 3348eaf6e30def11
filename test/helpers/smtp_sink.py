"""A real SMTP server for tests: stores every message it accepts, byte for byte.

Usage: python3 smtp_sink.py DIR [--reject] [--auth-fail]

Binds 127.0.0.1 on a port the OS picks (no race with another test grabbing it) and prints
"READY <port>" once listening. Each accepted message lands in DIR as <n>.eml (the DATA bytes as
sent, with SMTP's dot-stuffing undone) and <n>.json (the envelope).

--reject     answers every DATA with 554, so a client sees a permanent delivery failure.
--auth-fail  advertises AUTH and refuses every attempt with 535, so a client's credentials are
             exercised without the sink ever storing them.
"""
import json
import os
import socket
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

import asyncore  # noqa: E402
import smtpd  # noqa: E402

# getfqdn() does a reverse DNS lookup per connection, which can stall for seconds in a sandbox.
smtpd.socket.getfqdn = lambda *a: "sink.localhost"


class Channel(smtpd.SMTPChannel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # smtpd rejoins DATA lines with "\n"; CRLF keeps the bytes the client actually sent.
        self._newline = b"\r\n"

    def smtp_EHLO(self, arg):
        if not self.smtp_server.auth_fail:
            return super().smtp_EHLO(arg)
        if not arg:
            self.push("501 Syntax: EHLO hostname")
            return
        self._set_rset_state()
        self.seen_greeting = arg
        self.extended_smtp = True
        self.push("250-%s" % self.fqdn)
        self.push("250-AUTH PLAIN LOGIN")
        self.push("250 HELP")

    def smtp_AUTH(self, arg):
        self.push("535 5.7.8 Authentication credentials invalid")


class Sink(smtpd.SMTPServer):
    channel_class = Channel

    def __init__(self, folder, reject, auth_fail):
        super().__init__(("127.0.0.1", 0), None, decode_data=False)
        self.folder = folder
        self.reject = reject
        self.auth_fail = auth_fail
        self.count = 0

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        if self.reject:
            return "554 5.7.1 Message rejected by the test sink"
        self.count += 1
        base = os.path.join(self.folder, "%d" % self.count)
        # The terminator "\r\n.\r\n" swallowed the message's final CRLF; put it back.
        write_atomic(base + ".eml", data + b"\r\n")
        write_atomic(base + ".json", json.dumps({"from": mailfrom, "to": rcpttos}).encode())
        return None


def write_atomic(path, data):
    # The test polls for the .json; rename makes a half-written file impossible to observe.
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def main():
    folder = sys.argv[1]
    sink = Sink(folder, "--reject" in sys.argv, "--auth-fail" in sys.argv)
    print("READY %d" % sink.socket.getsockname()[1], flush=True)
    try:
        asyncore.loop(timeout=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
