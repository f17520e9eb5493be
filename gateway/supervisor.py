"""Run several processes as one, for ``gateway up``: labelled output, shared fate.

Each child's stdout and stderr go through one pipe (so its own lines keep their
order) and are copied to ``out`` line by line, prefixed with the child's name padded
to a fixed width, coloured when ``out`` is a terminal.

Each child runs in its own session (``start_new_session``), so a Ctrl-C typed in
the terminal reaches only the supervisor, which then sends exactly one SIGTERM to
each child's process group (grandchildren included). A second Ctrl-C, or ``grace``
seconds without an exit, gets SIGKILL.

Threads rather than asyncio: the caller may already run an event loop, and a blocking
reader per pipe cannot be starved. Signals are handled only when ``run_children``
runs in the main thread (Python delivers them nowhere else); elsewhere the caller
must stop the children itself.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import IO, Any, TextIO

__all__ = ["Child", "run_children"]

SUPERVISOR = "supervisor"
COLOURS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
MAX_LINE = 64 * 1024
READER_JOIN = 2.0  # how long to wait for a dead child's pipe to drain (a grandchild may hold it)

_Handler = Callable[[int, FrameType | None], Any] | int | None


@dataclass
class Child:
    """One process to run. ``env`` is added on top of our environment (``None``: inherit as is).

    ``PYTHONUNBUFFERED=1`` is set unless ``env`` says otherwise, so Python children
    write their lines as they go rather than when their buffer fills.
    """

    name: str
    argv: list[str]
    env: dict[str, str] | None = None


class _Output:
    """Writes whole prefixed lines to ``out``; shared by all reader threads."""

    def __init__(self, out: TextIO, names: list[str]) -> None:
        self.out = out
        self.width = max(len(name) for name in [*names, SUPERVISOR])
        try:
            colour = out.isatty()
        except ValueError:  # a closed stream
            colour = False
        self.labels = {name: self._label(name, COLOURS[i % len(COLOURS)] if colour else None)
                       for i, name in enumerate(names)}
        self.labels[SUPERVISOR] = self._label(SUPERVISOR, "1" if colour else None)
        self.lock = threading.Lock()
        self.closed = False

    def _label(self, name: str, colour: str | None) -> str:
        padded = f"{name:<{self.width}} |"
        return f"\x1b[{colour}m{padded}\x1b[0m " if colour else f"{padded} "

    def line(self, name: str, text: str) -> None:
        with self.lock:
            if self.closed:
                return
            try:
                self.out.write(f"{self.labels[name]}{text}\n")
                self.out.flush()
            except (BrokenPipeError, ValueError):
                # Nowhere left to report to (e.g. `gateway up | head`): keep draining the
                # children's pipes so they never block, and drop what they say.
                self.closed = True

    def note(self, text: str) -> None:
        self.line(SUPERVISOR, text)


class _Process:
    """A started child: its process, the thread copying its output, whether we killed it."""

    def __init__(self, index: int, child: Child, output: _Output,
                 events: queue.SimpleQueue[tuple[str, int]]) -> None:
        self.child = child
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(child.env or {})}
        self.proc = subprocess.Popen(child.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        assert self.proc.stdout is not None
        self.killed = False
        self.reader = threading.Thread(target=_copy_lines, args=(self.proc.stdout, child.name, output),
                                       name=f"supervisor-read-{child.name}", daemon=True)
        self.reader.start()

        def wait() -> None:
            self.proc.wait()
            events.put(("exit", index))

        threading.Thread(target=wait, name=f"supervisor-wait-{child.name}", daemon=True).start()

    def signal(self, sig: signal.Signals) -> None:
        """Signal the child's whole process group, if the child is still there."""
        if self.proc.returncode is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return  # it exited between the check and the kill; its exit event is on its way
        if sig == signal.SIGKILL:
            self.killed = True


def _copy_lines(stream: IO[bytes], name: str, output: _Output) -> None:
    """Copy a pipe to ``output`` line by line, including a last line without a newline."""
    pending = b""
    with stream:
        while chunk := os.read(stream.fileno(), MAX_LINE):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) >= MAX_LINE:  # a "line" this long is flushed in pieces
                lines.append(pending)
                pending = b""
            for line in lines:
                output.line(name, line.rstrip(b"\r").decode("utf-8", errors="replace"))
    if pending:
        output.line(name, pending.rstrip(b"\r").decode("utf-8", errors="replace"))


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _exit_status(returncode: int) -> int:
    """A child's return code as a process exit status (killed by signal N: 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


def run_children(children: list[Child], *, grace: float = 10.0, out: TextIO = sys.stdout) -> int:
    """Run ``children`` until one exits or we get SIGINT, SIGTERM or SIGHUP; then stop them all.

    Stopping is SIGTERM to every child's process group, then SIGKILL to what is left
    after ``grace`` seconds (or at a second signal). Returns:

    - the exit status of the child that exited on its own first (128 + N if killed by
      signal N; 0 if it exited cleanly), after a line naming it;
    - 0 after a signal, when every child stopped within ``grace``; 1 if one had to be killed;
    - 1 if a child could not be started (the others are stopped).
    """
    if not children:
        return 0
    output = _Output(out, [child.name for child in children])
    events: queue.SimpleQueue[tuple[str, int]] = queue.SimpleQueue()  # put() is safe in a signal handler
    previous = _install_handlers(events)
    processes: list[_Process] = []
    try:
        result: int | None = None
        for child in children:
            try:
                processes.append(_Process(len(processes), child, output, events))
            except OSError as err:
                output.note(f"could not start {child.name} ({' '.join(child.argv)}): {err}")
                result = 1
                break
        return _supervise(processes, output, events, grace, result)
    finally:
        for process in processes:  # only reached with live children if something above raised
            if process.proc.poll() is None:
                process.signal(signal.SIGKILL)
                process.proc.wait()
        for sig, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(sig, handler)


def _install_handlers(events: queue.SimpleQueue[tuple[str, int]]) -> dict[signal.Signals, _Handler]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        events.put(("signal", signum))

    return {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}


def _supervise(processes: list[_Process], output: _Output, events: queue.SimpleQueue[tuple[str, int]],
               grace: float, result: int | None) -> int:
    alive = set(range(len(processes)))
    deadline: float | None = None

    def stop_all() -> None:
        nonlocal deadline
        for i in alive:
            processes[i].signal(signal.SIGTERM)
        deadline = time.monotonic() + grace

    def kill_all(reason: str) -> None:
        nonlocal deadline
        for i in sorted(alive):
            output.note(f"{processes[i].child.name} {reason}; sending SIGKILL")
            processes[i].signal(signal.SIGKILL)
        deadline = None

    if result is not None:
        stop_all()
    while alive:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            kind, value = events.get(timeout=timeout)
        except queue.Empty:
            kill_all(f"did not stop within {grace:g}s of SIGTERM")
            continue
        if kind == "signal":
            name = signal.Signals(value).name
            if result is None:
                output.note(f"received {name}, stopping {len(alive)} processes")
                result = 0
                stop_all()
            else:
                kill_all(f"is still running at a second {name}")
            continue
        alive.discard(value)
        process = processes[value]
        process.reader.join(READER_JOIN)  # its last lines come before the line about its end
        returncode = process.proc.returncode
        if result is None:
            output.note(f"{process.child.name} {_describe(returncode)}; stopping the others")
            result = _exit_status(returncode)
            stop_all()
        else:
            output.note(f"{process.child.name} {_describe(returncode)}")
    for process in processes:
        process.reader.join(READER_JOIN)
    assert result is not None
    if result == 0 and any(process.killed for process in processes):
        return 1
    return result
