"""Shared helpers for tests/integration/test_tools_*.py: run a bin/*.sh tool,
record checks, and report. Tools come from $EDDY_BUILD (the bin wrappers honour
it), so the sanitizer run exercises build-san/ tools."""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "bin")

failures = []


def run(tool, args, stdin=None, timeout=60, env=None):
    """Run bin/<tool>.sh; returns (rc, stdout, stderr, seconds)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    start = time.time()
    try:
        p = subprocess.run([os.path.join(BIN, tool + ".sh")] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=timeout, env=full_env,
                           cwd=ROOT)
        return p.returncode, p.stdout, p.stderr, time.time() - start
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return "timeout", out, err, time.time() - start


def check(name, ok, detail=""):
    print("%s %s" % ("ok  " if ok else "FAIL", name), flush=True)
    if not ok:
        failures.append(name)
        if detail:
            print("     " + detail.replace("\n", "\n     ")[:3000], flush=True)
    return ok


def show(rc, out, err):
    return "rc=%r\nstdout:\n%s\nstderr:\n%s" % (rc, out[-1500:], err[-1500:])


def finish():
    if failures:
        print("%d check(s) failed: %s" % (len(failures), ", ".join(failures)))
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def matches(pattern, text):
    return re.search(pattern, text, re.M) is not None
