"""The process supervisor behind ``gateway up``, driven with small Python children."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.supervisor import Child, run_children

REPO = Path(__file__).resolve().parents[1]


def py(source: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(source)]


def wait_for(path: Path) -> str:
    """Child code that blocks until ``path`` exists (ordering without sleeps)."""
    return f"while not os.path.exists({str(path)!r}): time.sleep(0.01)\n"


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


# A service that says it is ready (with its pid), then runs until SIGTERM, and says goodbye.
SERVICE = """
import os, signal, sys, time
def bye(signum, frame):
    print("bye", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
print("ready", os.getpid(), flush=True)
open(sys.argv[1], "w").close()
while True:
    time.sleep(1)
"""


def test_output_is_interleaved_line_by_line_with_fixed_width_labels(tmp_path: Path) -> None:
    out_path = tmp_path / "out.txt"
    # a speaks only once bravo's lines are in the output, so the order below is certain
    a = py(f"""
        import time
        while "bravo      | b-2" not in open({str(out_path)!r}).read():
            time.sleep(0.01)
        for i in range(3):
            print(f'a-{{i}}')
    """)
    b = py("""
        import sys, time
        for i in range(3):
            print(f'b-{i}', file=sys.stderr if i == 1 else sys.stdout)
        time.sleep(60)
    """)
    with out_path.open("w") as out:
        code = run_children([Child("a", a), Child("bravo", b)], out=out)

    assert code == 0
    text = out_path.read_text()
    assert "\x1b[" not in text
    assert text.splitlines() == [
        "bravo      | b-0", "bravo      | b-1", "bravo      | b-2",
        "a          | a-0", "a          | a-1", "a          | a-2",
        "supervisor | a exited with code 0; stopping the others",
        "supervisor | bravo was killed by SIGTERM",
    ]


def test_labels_are_coloured_only_on_a_terminal() -> None:
    out = TTY()
    handler = signal.getsignal(signal.SIGTERM)
    run_children([Child("a", py("print('hi')"))], out=out)
    assert signal.getsignal(signal.SIGTERM) is handler  # our handlers are put back
    first = out.getvalue().splitlines()[0]
    assert first == "\x1b[36ma          |\x1b[0m hi"


def test_the_last_lines_of_a_dying_child_are_kept_and_come_before_its_obituary() -> None:
    source = """
        import sys
        for i in range(5000):
            sys.stdout.write(f'line {i}\\n')
        sys.stdout.write('no newline at the end')
        sys.exit(7)
    """
    out = io.StringIO()

    assert run_children([Child("burst", py(source))], out=out) == 7

    lines = out.getvalue().splitlines()
    assert lines[:5000] == [f"burst      | line {i}" for i in range(5000)]
    assert lines[5000:] == ["burst      | no newline at the end",
                            "supervisor | burst exited with code 7; stopping the others"]


def test_a_crash_stops_the_others_and_returns_its_code(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    crash = py("import os, sys, time\n" + wait_for(ready) + "print('oops')\nsys.exit(3)\n")
    out = io.StringIO()

    code = run_children([Child("web", [*py(SERVICE), str(ready)]), Child("crash", crash)], out=out)

    assert code == 3
    lines = out.getvalue().splitlines()
    assert "supervisor | crash exited with code 3; stopping the others" in lines
    assert lines.index("web        | bye") > lines.index(
        "supervisor | crash exited with code 3; stopping the others")
    assert "supervisor | web exited with code 0" in lines
    web_pid = int(next(line for line in lines if line.startswith("web        | ready")).split()[-1])
    assert gone(web_pid)


def test_a_child_killed_by_a_signal_returns_128_plus_the_signal() -> None:
    out = io.StringIO()
    suicide = py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    code = run_children([Child("seg", suicide)], out=out)
    assert code == 128 + signal.SIGKILL
    assert "supervisor | seg was killed by SIGKILL; stopping the others" in out.getvalue().splitlines()


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    stubborn = py(f"""
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('pid', os.getpid(), flush=True)
        open({str(ready)!r}, 'w').close()
        while True:
            time.sleep(1)
    """)
    crash = py("import os, sys, time\n" + wait_for(ready) + "sys.exit(4)\n")
    out = io.StringIO()

    code = run_children([Child("stubborn", stubborn), Child("crash", crash)], grace=0.5, out=out)

    assert code == 4
    lines = out.getvalue().splitlines()
    assert "supervisor | stubborn did not stop within 0.5s of SIGTERM; sending SIGKILL" in lines
    assert "supervisor | stubborn was killed by SIGKILL" in lines
    pid = int(next(line for line in lines if line.startswith("stubborn   | pid")).split()[-1])
    assert gone(pid)


def test_a_child_that_cannot_be_started_stops_the_rest(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    out = io.StringIO()
    code = run_children([Child("web", [*py(SERVICE), str(ready)]),
                         Child("missing", [str(tmp_path / "no-such-program")])], out=out)
    assert code == 1
    text = out.getvalue()
    assert "supervisor | could not start missing" in text
    assert "supervisor | web " in text  # and web was stopped


def run_supervisor(tmp_path: Path, grace: float) -> tuple[subprocess.Popen[str], list[int]]:
    """A supervisor in its own session with two SERVICE children, once both are ready."""
    script = textwrap.dedent(f"""
        import sys
        from gateway.supervisor import Child, run_children
        service = [sys.executable, "-c", {SERVICE!r}]
        sys.exit(run_children([Child("one", service + [{str(tmp_path / "1")!r}]),
                               Child("two", service + [{str(tmp_path / "2")!r}])], grace={grace}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert proc.stdout is not None
    pids: list[int] = []
    while len(pids) < 2:
        line = proc.stdout.readline()
        assert line, "the supervisor ended before its children were ready"
        if "| ready" in line:
            pids.append(int(line.split()[-1]))
    return proc, pids


@pytest.mark.parametrize("how", ["SIGTERM to the supervisor", "Ctrl-C to its process group"])
def test_a_signal_stops_every_child_and_returns_0(tmp_path: Path, how: str) -> None:
    proc, pids = run_supervisor(tmp_path, grace=30)
    if how.startswith("SIGTERM"):
        proc.send_signal(signal.SIGTERM)
    else:  # what a terminal does: SIGINT to the foreground process group
        os.killpg(proc.pid, signal.SIGINT)

    rest, _ = proc.communicate(timeout=60)

    assert proc.returncode == 0, rest
    assert rest.count("| bye") == 2  # each child got one SIGTERM, and no SIGINT
    assert "KeyboardInterrupt" not in rest
    assert all(gone(pid) for pid in pids)
