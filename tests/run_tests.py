#!/usr/bin/python3
"""Eddy's whole test suite: unit tests, integration tests with real clients,
bounded fuzzing, then the unit and integration tests again against the
AddressSanitizer+UBSan build, and the unit tests plus the integration tests
that keep the background threads busy (TSAN_TESTS) against the
ThreadSanitizer build. Ends with the line `N passed, M failed`.

Usage: tests/run_tests.py [--quick] [--no-san] [FILTER...]
A test is a program: build/tests/test_* (C unit tests) or
tests/integration/test_*.{py,sh,js}. Exit status 0 means it passed; 77 means
it could not run on this machine (it prints why) and is reported as skipped,
neither passed nor failed.
Integration tests find the broker binary in $EDDY_BIN and the tools in
$EDDY_BUILD.
"""
import concurrent.futures
import glob
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = int(os.environ.get("EDDY_TEST_TIMEOUT", "300"))
FUZZ_SECONDS = int(os.environ.get("EDDY_FUZZ_SECONDS", "30"))
PRINT_LOCK = threading.Lock()
SKIPPED = 77
# Integration tests run under ThreadSanitizer too: group commit on the sync
# workers, drop-behind and the pager, retention and compaction beside reads,
# many connections, groups' durable commits, start-up and shutdown, the
# metadata syncer under concurrent admin clients.
TSAN_TESTS = ("test_clients_acks.py", "test_clients_kill9_acks_all.py", "test_clients_many_producers.py",
              "test_clients_retention_race.py", "test_groups_clients.py", "test_storage_cold_reads.py",
              "test_storage_compaction.py", "test_storage_open_files.py", "test_storage_preallocate.py",
              "test_storage_page_cache_budget.py", "test_admin_big_topics.py", "test_admin_pipelined.py")


def interpreter(path):
    if path.endswith(".py"):
        return ["/usr/bin/python3", path]
    if path.endswith(".js"):
        return ["node", path]
    if path.endswith(".sh"):
        return ["/bin/bash", path]
    return [path]


def integration_tests():
    found = []
    for ext in ("py", "sh", "js"):
        found += glob.glob(os.path.join(ROOT, "tests/integration/test_*." + ext))
    return sorted(found)


def run_one(label, cmd, env, log_dir):
    start = time.time()
    log_path = os.path.join(log_dir, label.replace("/", "_") + ".log")
    with open(log_path, "wb") as log:
        try:
            rc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, timeout=TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    took = time.time() - start
    outcome = "PASS" if rc == 0 else "SKIP" if rc == SKIPPED else "FAIL"
    with PRINT_LOCK:
        report(label, rc, outcome, took, log_path)
    return outcome


def report(label, rc, outcome, took, log_path):
    print("%s %-60s %6.1fs" % (outcome, label, took), flush=True)
    if outcome != "PASS":
        with open(log_path, "rb") as log:
            tail = log.read()[-4000:].decode("utf-8", "replace")
        print("---- %s (exit %s), last output:\n%s\n----" % (label, rc, tail), flush=True)


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    no_san = "--no-san" in args or quick
    filters = [a for a in args if not a.startswith("--")]
    log_dir = os.path.join(ROOT, "build", "test-logs")
    os.makedirs(log_dir, exist_ok=True)

    plan = []  # (label, cmd, env)
    variants = [("build", "")] + ([] if no_san else [("build-san", "san:"), ("build-tsan", "tsan:")])
    for build, prefix in variants:
        env = dict(os.environ)
        env["EDDY_BIN"] = os.path.join(ROOT, build, "eddy")
        # Tools and test helpers come from the gcc build (the TSan build has only the broker).
        env["EDDY_BUILD"] = os.path.join(ROOT, "build" if build == "build-tsan" else build)
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=86"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        env["TSAN_OPTIONS"] = "halt_on_error=1:exitcode=66"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for binary in sorted(glob.glob(os.path.join(ROOT, build, "tests", "test_*"))):
            plan.append((prefix + "unit/" + os.path.basename(binary), [binary], env))
        for script in integration_tests():
            name = os.path.basename(script)
            if prefix and name.startswith("test_bench"):
                continue
            if prefix == "tsan:" and name not in TSAN_TESTS:
                continue
            plan.append((prefix + "integration/" + name, interpreter(script), env))
        if not prefix and not quick:
            for fuzzer in sorted(glob.glob(os.path.join(ROOT, "build-san", "fuzz_*"))):
                name = os.path.basename(fuzzer)
                corpus = os.path.join(ROOT, "build", "fuzz-corpus", name)
                seeds = os.path.join(ROOT, "tests", "fuzz", "seeds", name)
                os.makedirs(corpus, exist_ok=True)
                cmd = [fuzzer, "-max_total_time=%d" % FUZZ_SECONDS, "-rss_limit_mb=2048",
                       "-print_final_stats=1", corpus] + ([seeds] if os.path.isdir(seeds) else [])
                plan.append(("fuzz/" + name, cmd, env))

    if filters:
        plan = [p for p in plan if any(f in p[0] for f in filters)]

    # Most tests wait on sockets and timers, so two run at a time on a
    # 2-core machine (EDDY_TEST_JOBS to change).
    jobs = int(os.environ.get("EDDY_TEST_JOBS", "2"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda p: (p[0], run_one(p[0], p[1], p[2], log_dir)), plan))
    failures = [label for label, outcome in results if outcome == "FAIL"]
    skipped = [label for label, outcome in results if outcome == "SKIP"]
    passed = len(results) - len(failures) - len(skipped)
    failed = len(failures)
    if skipped:
        print("skipped (could not run here; see above): " + ", ".join(skipped))
    if failures:
        print("failed: " + ", ".join(failures))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
