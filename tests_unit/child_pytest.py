"""Run ``python -m pytest ARGS`` in a new process, without paying its start-up each time.

A live-suite child spends about 0.55 s of CPU importing pytest, boto3, botocore, cryptography and requests before it
does anything; the fault matrix starts a hundred of them. ``run(args, env, cwd, timeout)`` asks a fork server (one
per test process, started on first use) for the child: the server imported those libraries once, then forks a
process per run, which takes the given environment, working directory, stdin from /dev/null and stdout/stderr to
files, and calls ``pytest.main(args)`` as ``python -m pytest`` would. Where PYTHONDONTWRITEBYTECODE is set, the
children share a private bytecode cache (``sys.pycache_prefix``, removed when the server ends), so the suite's
modules are compiled and assertion-rewritten once, not once per child. Before the fork the server imports the
project's library (``cabal_checks`` but its sandbox: nothing there reads the environment as it is imported), whose AWS
reader parses botocore's service models once for every child (1 s a run); pytest imports and rewrites the plugins
(``fixtures``, and those of installed packages: importing them here would leave them unrewritten) and the tests in the
child, as usual. The libraries are imported under pytest.ini's warning filters, as in a fresh process. The answer is
a ``CompletedProcess``; a run past ``timeout`` is killed and raises ``TimeoutExpired``, as ``subprocess.run`` does.

The server ends when its parent closes the pipe (at exit) or dies.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SERVER = r"""
import json, os, sys, warnings
with warnings.catch_warnings():  # pytest.ini's filters: a warning while importing fails as it would under pytest
    warnings.simplefilter("error")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="botocore.*")
    import pytest, boto3, botocore.session, botocore.client, cryptography.x509, requests, urllib3  # noqa: F401
    import importlib, pkgutil, ssl, encodings.idna  # noqa: E401
    import cabal_checks
    from cabal_checks.aws import reader
    reader.warm()  # the service models, parsed once for every child (reader.new_session shares them)
    for module in pkgutil.walk_packages(cabal_checks.__path__, "cabal_checks."):  # the suite's library
        if not module.name.startswith("cabal_checks.sandbox"):
            importlib.import_module(module.name)
if sys.dont_write_bytecode:  # PYTHONDONTWRITEBYTECODE: nothing in the tree, so a private cache for the children
    import tempfile
    sys.pycache_prefix = tempfile.mkdtemp(prefix="cabal-pycache-")  # removed when the server ends (below)
print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        null, out = os.open(os.devnull, os.O_RDONLY), os.open(job["stdout"], os.O_WRONLY | os.O_TRUNC)
        err = os.open(job["stderr"], os.O_WRONLY | os.O_TRUNC)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
        sys.stdin = open(os.devnull)
        os.environ.clear()
        os.environ.update(job["env"])
        os.chdir(job["cwd"])
        sys.argv = ["pytest", *job["args"]]
        sys.dont_write_bytecode = sys.dont_write_bytecode and not sys.pycache_prefix  # write to the private cache
        code = 1
        try:
            code = pytest.main(job["args"])
        except BaseException:
            import traceback
            traceback.print_exc()  # pytest did not report it: said on the child's stderr, not lost in os._exit
        finally:
            import atexit
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(code))
    print(json.dumps({"pid": pid}), flush=True)
    print(json.dumps({"status": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}), flush=True)
if sys.pycache_prefix:
    import shutil
    shutil.rmtree(sys.pycache_prefix, ignore_errors=True)
"""

_lock = threading.Lock()
_server: dict = {}


def run(args: list[str], env: dict, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    if {k: v for k, v in env.items() if k.startswith("PYTHON")} != {k: v for k, v in os.environ.items()
                                                                     if k.startswith("PYTHON")}:
        # the interpreter's own settings (PYTHONPATH...) are read as it starts: a forked child would keep ours
        return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    with _lock, tempfile.TemporaryDirectory(prefix="cabal-child-") as tmp:  # one run at a time per server
        server = _server.get("proc")
        if server is None or server.poll() is not None:
            server = _start(cwd)
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        out.touch()
        err.touch()
        job = {"args": list(args), "env": env, "cwd": str(cwd), "stdout": str(out), "stderr": str(err)}
        server.stdin.write((json.dumps(job) + "\n").encode())
        pid = json.loads(_read_line(server, 30))["pid"]
        try:
            status = json.loads(_read_line(server, timeout))["status"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            _read_line(server, 30)
            raise subprocess.TimeoutExpired(["pytest", *args], timeout, out.read_text(), err.read_text()) from None
        return subprocess.CompletedProcess(["pytest", *args], status, out.read_text(), err.read_text())


def _start(cwd: Path) -> subprocess.Popen:
    # bufsize=0: unbuffered pipes, so a line read leaves the next one in the pipe, where select sees it
    proc = subprocess.Popen([sys.executable, "-c", SERVER], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, bufsize=0)
    _server["proc"] = proc
    atexit.register(_stop)
    if _read_line(proc, 60) != "ready":
        raise RuntimeError("the pytest fork server did not start")
    return proc


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("the pytest fork server ended")
    return line.decode().strip()


def _stop() -> None:
    proc = _server.pop("proc", None)
    if proc is not None:
        proc.stdin.close()  # the server reads EOF and ends
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
