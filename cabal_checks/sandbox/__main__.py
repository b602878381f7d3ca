"""``cabal-sandbox``: start the embedded sandbox and run the unchanged live suite against it.

    cabal-sandbox                                   # healthy 2026-05 sandbox, whole live suite
    cabal-sandbox --topology 2026-08 -- -m imap     # pytest arguments after --
    cabal-sandbox --fault imap-service-down -- -m imap   # rehearse an incident
    cabal-sandbox --topology 2026-08 --no-monitoring --discover   # Cabalmail today, shape read by the suite
    cabal-sandbox --noisy                           # healthy, with what a lived-in account also holds
    cabal-sandbox --list-faults
    cabal-sandbox --serve --write-config cabal.toml # keep it up; point your own pytest at it
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .. import outputs, suite_run
from ..config import ConfigError
from ..exporter import seconds
from ..tomltypes import shown


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    pytest_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, pytest_args = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(prog="cabal-sandbox", description=__doc__.split("\n\n")[0])
    p.add_argument("--topology", default="2026-05", help="2026-05 (default), 2026-08 or a topology FILE")
    p.add_argument("--no-monitoring", action="store_true",
                   help="an account without cabal-infra's monitoring module (no ALB, Kuma, ntfy), as runs today")
    p.add_argument("--discover", action="store_true", help='tell the suite topology = "auto" (it reads the shape)')
    p.add_argument("--fault", action="append", default=[], metavar="NAME", help="start broken (repeatable)")
    p.add_argument("--noisy", action="store_true",
                   help="lay a lived-in account's noise over the healthy state (sandbox/aws_noise.py)")
    p.add_argument("--list-faults", action="store_true", help="list the fault catalogue and exit")
    p.add_argument("--serve", action="store_true", help="keep the sandbox up until interrupted; run nothing")
    p.add_argument("--write-config", metavar="FILE", help="also write the suite's TOML config here")
    p.add_argument("--env-file", metavar="FILE", help="also write the suite's environment (export lines) here")
    p.add_argument("--probe-timeout", type=seconds, default=5.0, metavar="S")
    args = p.parse_args(argv)

    from .faults import FAULTS

    if args.list_faults:
        width = max(map(len, FAULTS))
        for name, fault in FAULTS.items():
            print(f"{name:<{width}}  [{','.join(fault.topologies)}]  {fault.description}")
        return 0
    unknown = [f for f in args.fault if f not in FAULTS]
    if unknown:
        p.error(f"unknown fault(s) {', '.join(shown(f) for f in unknown)}; see --list-faults")
    topology = usage_topology(p, args.topology)
    for option, path in (("--write-config", args.write_config), ("--env-file", args.env_file)):
        try:
            if path is not None:
                outputs.check(option, path)
        except ConfigError as exc:
            p.error(str(exc))
    wrong = [f for f in args.fault if topology not in FAULTS[f].topologies]
    if wrong:
        p.error(f"fault(s) {', '.join(wrong)} do not apply to topology {topology}; faults of {topology}: "
                f"{', '.join(n for n, f in FAULTS.items() if topology in f.topologies) or 'none'}")
    try:
        return _run(args, pytest_args)
    except KeyboardInterrupt:  # while the sandbox starts or stops: it has cleaned up after itself
        print("cabal-sandbox: interrupted", file=sys.stderr, flush=True)
        return 130


def usage_topology(p: argparse.ArgumentParser, which: str) -> str:
    """The name of the topology ``--topology`` names (a built-in or a file), or a usage error listing the choices."""
    from ..topology import BUILTIN_DIR, TopologyError, load_topology
    from .sandbox import CONTROL_DOMAIN

    builtins = ", ".join(sorted(path.stem for path in BUILTIN_DIR.glob("*.toml")))
    if which == "auto":
        p.error(f"--topology auto: the sandbox is built in one shape; choose {builtins} or a FILE "
                f"(--discover makes the suite read the shape, as topology = \"auto\" does)")
    try:
        return load_topology(which, CONTROL_DOMAIN).name
    except TopologyError as exc:  # "topology 'x': not a built-in (...) ...", or a topology file's own line
        p.error(f"--{exc}" if str(exc).startswith("topology '") else f"--topology {shown(which, 200)}: {exc}")


def _run(args: argparse.Namespace, pytest_args: list[str]) -> int:
    from .sandbox import Sandbox

    # This process hosts the moto server for its whole life, and moto reads the AWS environment on every
    # request: the caller's profile, config file or per-service endpoints must not reach it (nor a real account).
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    sandbox = Sandbox(args.topology, probe_timeout=args.probe_timeout, monitoring=not args.no_monitoring,
                      discover=args.discover, noisy=args.noisy).start()
    try:
        sandbox.apply(*args.fault)
        for path in (args.write_config, args.env_file):  # checked before the start: a missing folder is made
            if path is not None:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        config = sandbox.write_config(args.write_config)
        env = sandbox.suite_env()
        assert sandbox.plant is not None  # started
        if args.env_file:
            Path(args.env_file).write_text("".join(f"export {k}={v}\n" if v is not None else f"unset {k}\n"
                                                   for k, v in env.items()))
        print(f"sandbox {args.topology} up in {sandbox.start_seconds:.2f}s: moto at {sandbox.endpoint_url}, "
              f"{len(sandbox.plant.listeners())} listeners on 127.0.0.1, faults: {', '.join(args.fault) or 'none'}"
              f"{', noisy' if args.noisy else ''}",
              flush=True)
        print(f"config: {config}", flush=True)
        if args.serve:
            print("serving; Ctrl-C to stop", flush=True)
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            try:
                while not stop.wait(WAIT_POLL):  # polled, as run_suite's wait (a Ctrl-C may land on another thread)
                    pass
            except KeyboardInterrupt:
                pass
            return 0
        return run_suite(config, sandbox.process_env(), pytest_args)
    finally:
        sandbox.stop()


# The wait for the child polls: the kernel may deliver SIGINT to any of this process's threads (moto's server, the
# wire plant's), and then a main thread blocked in waitpid() never wakes to raise KeyboardInterrupt; polling, it
# runs Python's handler within this many seconds.
WAIT_POLL = 0.2


def run_suite(config: Path, env: dict, pytest_args: list[str], cwd: str | Path | None = None) -> int:
    """The live suite in a child pytest, standing where the user stands (``cwd``, default this process's): a relative
    path after ``--`` (``--runbook-report out.md``, ``--results-json``...) is the user's, the suite and its settings
    are the repository's.

    Ctrl-C: the child is never killed (its reports are what an interrupted run is for). It gets one SIGINT: from the
    terminal, which sends it to the whole foreground process group, or else (``kill -INT``, a supervisor, no
    terminal) forwarded from here; pytest then finishes as it does when interrupted (reports written, exit status 2),
    and that is this command's exit status; any other status of an interrupted child (a Python interrupted while it
    starts exits 1, pytest's "tests failed") is said as 128 + SIGINT, never as a verdict. The child stays in this
    process group, so ``--pdb`` still has the terminal."""
    proc = subprocess.Popen(suite_run.command(f"--cabal-config={config}", *pytest_args), cwd=cwd or os.getcwd(),
                            env=suite_run.environ(env))
    interrupted = False
    while True:
        try:
            code = proc.wait(timeout=WAIT_POLL)
            if code < 0 or (interrupted and code != 2):
                return 128 + (-code if code < 0 else signal.SIGINT)  # as a shell says it (2: pytest interrupted)
            return code
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:
            interrupted = True
            if not _terminal_interrupts_the_child():
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)


def _terminal_interrupts_the_child() -> bool:
    """Whether a Ctrl-C now comes from a terminal whose foreground process group is ours (and the child's)."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
