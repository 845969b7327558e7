"""Starts and stops a real `eddy` broker for integration tests.

    with Broker() as b:          # free loopback port, fresh data dir
        b.bootstrap              # "127.0.0.1:PORT"
        b.kill9(); b.start()     # crash and restart on the same dir

The broker binary comes from $EDDY_BIN (default build/eddy). Only processes
started here are ever signalled.
"""
import ctypes
import mmap
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EDDY_BIN = os.environ.get("EDDY_BIN", os.path.join(ROOT, "build", "eddy"))
EDDY_BUILD = os.environ.get("EDDY_BUILD", os.path.join(ROOT, "build"))


def check(cond, what):
    """A test's assertion that also says what held: "ok: <what>" on stdout."""
    if not cond:
        raise AssertionError(what)
    print("ok:", what, flush=True)


def page_cached_bytes(path, length=None):
    """Bytes of a file (its first `length`) in the page cache: mincore on a
    fresh mapping, as fincore does; mapping does not read anything in."""
    if length is None:
        length = os.path.getsize(path)
    if length == 0:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    pages = (length + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vec = (ctypes.c_ubyte * pages)()
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), "mmap: errno %d" % ctypes.get_errno()
        rc = libc.mincore(addr, length, vec)
        libc.munmap(addr, length)
        assert rc == 0, "mincore: errno %d" % ctypes.get_errno()
    finally:
        os.close(fd)
    return sum(mmap.PAGESIZE for v in vec if v & 1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, config=None, port=None, data_dir=None, max_open_files=None):
        self.port = port or free_port()
        self.max_open_files = max_open_files  # RLIMIT_NOFILE for the broker process
        self.tmp = tempfile.mkdtemp(prefix="eddy-test-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.config = {
            "node.id": "1",
            "process.roles": "broker,controller",
            "listeners": "PLAINTEXT://127.0.0.1:%d" % self.port,
            "log.dirs": self.data_dir,
            "num.partitions": "1",
        }
        self.config.update(config or {})
        self.proc = None
        self.log_path = os.path.join(self.tmp, "eddy.log")

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def write_config(self):
        path = os.path.join(self.tmp, "server.properties")
        with open(path, "w") as f:
            for k, v in self.config.items():
                f.write("%s=%s\n" % (k, v))
        return path

    def start(self, wait=True):
        path = self.write_config()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([EDDY_BIN, "server", path], stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=self._limit_files)
        if wait:
            self.wait_ready()
        return self

    def _limit_files(self):
        if self.max_open_files:  # soft and hard: the broker raises its soft limit to the hard one
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.max_open_files, self.max_open_files))

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("eddy exited with %s:\n%s" % (self.proc.returncode, self.output()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("eddy did not listen on %d:\n%s" % (self.port, self.output()))

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=30):
        """SIGTERM, wait, and return the exit code (0 is a clean shutdown)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("eddy ignored SIGTERM for %ds" % timeout)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def check_clean(self):
        """Raise if the broker log shows a sanitizer report."""
        out = self.output()
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                       "WARNING: ThreadSanitizer"):
            if marker in out:
                raise AssertionError("sanitizer report in broker log:\n" + out[-6000:])

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        rc = self.stop()
        if exc_type is None:
            self.check_clean()
            assert rc == 0, "eddy exited %s on SIGTERM:\n%s" % (rc, self.output()[-4000:])
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("broker log (%s):\n%s" % (self.log_path, self.output()[-6000:]))
        return False
