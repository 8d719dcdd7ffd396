"""Running processes for nmr-campaign: each run in its own session (process group), with
stdout and stderr in files, a timeout that kills the whole group, and a registry that kills
and reaps every child on Ctrl-C.

nmr-campaign makes itself a child subreaper, so that the replicas of an nmr-run killed at a
timeout (which die of PDEATHSIG) and anything a native program left running are reparented
to it rather than to init: it reaps them, and kills whatever is still alive once the run it
belonged to is over."""

import ctypes
import hashlib
import os
import signal
import subprocess
import threading
import time

PR_SET_CHILD_SUBREAPER = 36


class Interrupted(Exception):
    """The campaign was interrupted (Ctrl-C, SIGTERM, SIGHUP): no new run may start."""

    def __init__(self, signum=signal.SIGINT):
        super().__init__("interrupted by signal %d" % signum)
        self.signum = signum


class RunResult:
    """One finished run: returncode (negative: killed by that signal), whether it was
    killed at the timeout, wall time in seconds, and where its output went."""

    def __init__(self, returncode, timed_out, wall_s, stdout_path, stderr_path):
        self.returncode = returncode
        self.timed_out = timed_out
        self.wall_s = wall_s
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path

    def stdout_digest(self):
        return file_digest(self.stdout_path)

    def stdout_size(self):
        return os.path.getsize(self.stdout_path)

    def stderr_tail(self, limit=600):
        return file_tail(self.stderr_path, limit)


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_tail(path, limit):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return ("..." if size > limit else "") + text


class ProcessRegistry:
    """Every process nmr-campaign started and has not reaped yet, guarded by one lock.

    A run starts only under the lock and only while the registry is open; shutdown() closes
    it under the same lock and kills every registered group, so after shutdown() returns no
    new process can appear and every old one has been sent SIGKILL."""

    def __init__(self):
        self._lock = threading.Lock()
        self._procs = {}  # pid -> Popen
        self._closed = False
        self.subreaper = _become_subreaper()

    @property
    def closed(self):
        return self._closed

    def run(self, argv, *, stdin_path, cwd, env, timeout, stdout_path, stderr_path):
        """Runs argv to completion (or the timeout) in a new session; returns a RunResult.
        Raises Interrupted if the registry is closed (before or while the run ran), and
        OSError if argv cannot be started."""
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
                with self._lock:
                    if self._closed:
                        raise Interrupted()
                    start = time.monotonic()
                    proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, cwd=cwd,
                                            env=env, start_new_session=True, close_fds=True)
                    self._procs[proc.pid] = proc
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()
        timed_out = False
        try:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
                proc.wait()
        finally:
            if proc.returncode is None:  # interrupted in the main thread: kill, then reap
                _kill_group(proc)
                proc.wait()
            wall_s = time.monotonic() - start
            with self._lock:
                if self._procs.get(proc.pid) is proc:
                    del self._procs[proc.pid]
                closed = self._closed
                self._reap_orphans_locked()
        if closed:
            raise Interrupted()
        return RunResult(proc.returncode, timed_out, wall_s, stdout_path, stderr_path)

    def shutdown(self):
        """Closes the registry and kills every running group (their runs raise Interrupted)."""
        with self._lock:
            self._closed = True
            for proc in self._procs.values():
                if proc.returncode is None:
                    _kill_group(proc)

    def reap_all(self, grace_s=5.0):
        """After shutdown() and after every run returned: kills and reaps any child left
        (orphaned replicas, a native program's leftovers)."""
        deadline = time.monotonic() + grace_s
        while True:
            with self._lock:
                left = self._reap_orphans_locked()
            if not left or time.monotonic() > deadline:
                return
            time.sleep(0.02)

    def _reap_orphans_locked(self):
        """Kills and reaps every child that is not a registered run (with the lock held):
        with the subreaper bit, orphans of finished runs come to us. Returns how many
        children it saw that are not reaped yet."""
        left = 0
        for pid in _children():
            if pid in self._procs:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                reaped, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if reaped == 0:
                left += 1
        return left


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def _become_subreaper():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children():
    """PIDs of this process's children, from /proc (the ppid field of /proc/PID/stat)."""
    me = os.getpid()
    result = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return result
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me:
            result.append(int(name))
    return result
