"""`--workers N`: one command serving on N processes that share the port. The parent here
starts the workers, passes stop signals on, starts again a worker that dies, and gives up on
one that keeps failing to start; a worker says when it listens and ends with its parent."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

WORKER_ENV = "FORUM_WORKER"
READY_FD_ENV = "FORUM_WORKER_READY_FD"  # the pipe a worker says "listening" on
PARENT_ENV = "FORUM_WORKER_PARENT"      # the --workers process's pid


def say_listening(message: str) -> None:
    """aiohttp says the port is listening: so does a worker to its --workers parent (a worker
    that ends before this failed to start)."""
    print(message, flush=True)
    ready = os.environ.pop(READY_FD_ENV, None)
    if ready and ready.isdigit():
        try:
            os.write(int(ready), b"1")
            os.close(int(ready))
        except OSError:
            pass  # the parent is gone: PR_SET_PDEATHSIG ends this process


def end_with_parent() -> None:
    """A worker of --workers stops when its parent goes, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG): no orphan keeps serving the port beside a new start."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    # the parent was gone before this could be said (this process now belongs to init, or to a
    # subreaper such as systemd --user: compared with the parent's pid, not with 1)
    parent = os.environ.get(PARENT_ENV, "")
    if parent.isdigit() and os.getppid() != int(parent):
        sys.exit(2)


# A worker that ends before it listens failed to start (a port taken, a database away): it is
# started again after a pause that doubles (1, 2, 4 s); after FAILED_STARTS such failures in a
# row of one worker the whole command stops with that worker's exit code, rather than starting
# it again forever.
FAILED_STARTS = 3


class _Worker:
    def __init__(self, number: int, argv: list[str]):
        self.number, self.argv = number, argv
        self.failed_starts = 0
        self.process: subprocess.Popen | None = None
        self._ready_pipe = -1
        self.ready = False

    def start(self) -> None:
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        env = {**os.environ, WORKER_ENV: str(self.number), READY_FD_ENV: str(write_end), PARENT_ENV: str(os.getpid())}
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "forum", *self.argv], env=env, pass_fds=(write_end,))
        finally:
            os.close(write_end)
        self._ready_pipe, self.ready = read_end, False

    def check_ready(self) -> None:
        if self.ready or self._ready_pipe < 0:
            return
        try:
            said = os.read(self._ready_pipe, 1)
        except BlockingIOError:
            return
        if said:
            self.ready, self.failed_starts = True, 0
        self.close_pipe()

    def close_pipe(self) -> None:
        if self._ready_pipe >= 0:
            os.close(self._ready_pipe)
            self._ready_pipe = -1


def run_workers(count: int, argv: list[str]) -> int:
    """`--workers N`: N processes of this same command, sharing the port (SO_REUSEPORT: the
    kernel spreads new connections over them, no stickiness needed: every process serves every
    request and socket). A worker that ends on its own (killed, crashed) is started again, its
    clients resuming on the others meanwhile; a stop signal is passed on to each. The exit code
    is 0 after a stop, or the code of a worker that kept failing to start."""
    passed_on = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            passed_on.append(arg)
    workers = [_Worker(number, passed_on) for number in range(1, count + 1)]
    stopping = False

    def pass_on(signum, _frame):
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(signum)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    for worker in workers:
        worker.start()
    gave_up = 0
    while not stopping:
        time.sleep(0.2)  # woken early by a signal; a worker's end is seen within this
        for worker in workers:
            worker.check_ready()
            code = worker.process.poll()
            if code is None or stopping:
                continue
            worker.check_ready()  # it may have said so just before it ended
            worker.close_pipe()
            pause = 0.0
            if not worker.ready:
                worker.failed_starts += 1
                if worker.failed_starts >= FAILED_STARTS:
                    print(f"forum: worker {worker.number} failed to start {worker.failed_starts} times"
                          f" (last exit code {code}); stopping", file=sys.stderr, flush=True)
                    gave_up = abs(code) or 1
                    pass_on(signal.SIGTERM, None)
                    break
                pause = float(2 ** (worker.failed_starts - 1))
            print(f"forum: worker {worker.number} (pid {worker.process.pid}) ended with exit code {code};"
                  f" starting it again{f' in {pause:.0f} s' if pause else ''}", file=sys.stderr, flush=True)
            deadline = time.monotonic() + pause
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            if stopping:
                break
            worker.start()
    codes = [worker.process.wait() for worker in workers]
    for worker in workers:
        worker.close_pipe()
    if gave_up:
        return gave_up
    # after a stop, a worker ended by the signal passed on to it (one still starting has no
    # handler for it yet) stopped as asked
    return max((0 if stopping and code in (-signal.SIGTERM, -signal.SIGINT) else abs(code) for code in codes),
               default=0)
