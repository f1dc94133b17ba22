"""E-mail backends that stand in for a mail server in the outbox and worker tests.

Some are used by subprocesses (a real `sekispe worker`), so what they deliver
is appended to a file named by SEKISPE_TEST_MAIL_LOG, one line per message:
`<to>\t<Message-ID>`.
"""

from __future__ import annotations

import os
import smtplib
import threading
import time
from typing import Any, ClassVar

from django.core.mail.backends.base import BaseEmailBackend


class DownBackend(BaseEmailBackend):
    """A mail server that refuses connections; counts every attempt to reach it."""

    attempts: ClassVar[int] = 0

    def open(self) -> bool:
        type(self).attempts += 1
        raise ConnectionRefusedError(111, "Connection refused")

    def send_messages(self, messages: Any) -> int:
        type(self).attempts += 1
        raise ConnectionRefusedError(111, "Connection refused")


class RejectingBackend(BaseEmailBackend):
    """Connects, then refuses every message with a temporary error."""

    def send_messages(self, messages: Any) -> int:
        raise smtplib.SMTPDataError(451, b"try again later")


class RecordingBackend(BaseEmailBackend):
    """Thread-safe record of every message delivered, across instances."""

    lock = threading.Lock()
    delivered: ClassVar[list[tuple[str, str]]] = []

    def send_messages(self, messages: Any) -> int:
        with self.lock:
            for message in messages:
                type(self).delivered.append((message.to[0], message.extra_headers["Message-ID"]))
        return len(messages)


def _log(message: Any) -> None:
    with open(os.environ["SEKISPE_TEST_MAIL_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{message.to[0]}\t{message.extra_headers['Message-ID']}\n")


class HangBeforeSendingBackend(BaseEmailBackend):
    """Never delivers: the process hangs inside the send until it is killed."""

    def send_messages(self, messages: Any) -> int:
        time.sleep(3600)
        return 0


class HangAfterSendingBackend(BaseEmailBackend):
    """Delivers (logs), then hangs before the worker can confirm: killed there,
    this is the one window in which a mail can go out twice."""

    def send_messages(self, messages: Any) -> int:
        for message in messages:
            _log(message)
        time.sleep(3600)
        return len(messages)


class SlowBackend(BaseEmailBackend):
    """Delivers (logs) each message after a pause, so a stop arrives mid-batch."""

    def send_messages(self, messages: Any) -> int:
        for message in messages:
            time.sleep(0.5)
            _log(message)
        return len(messages)


class FailingForBackend(RecordingBackend):
    """Records like RecordingBackend, but refuses the addresses in `fail_for`."""

    fail_for: ClassVar[set[str]] = set()

    def send_messages(self, messages: Any) -> int:
        if messages[0].to[0] in self.fail_for:
            raise OSError("mailbox unavailable")
        return super().send_messages(messages)
