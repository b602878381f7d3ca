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
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    pytest_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, pytest_args = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(prog="cabal-sandbox", description=__doc__.split("\n\n")[0])
    p.add_argument("--topology", default="2026-05", help="2026-05 (default) or 2026-08")
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
    p.add_argument("--probe-timeout", type=float, default=5.0)
    args = p.parse_args(argv)

    from .faults import FAULTS

    if args.list_faults:
        width = max(map(len, FAULTS))
        for name, fault in FAULTS.items():
            print(f"{name:<{width}}  [{','.join(fault.topologies)}]  {fault.description}")
        return 0
    unknown = [f for f in args.fault if f not in FAULTS]
    if unknown:
        p.error(f"unknown fault(s) {', '.join(unknown)}; see --list-faults")

    from .sandbox import Sandbox

    # This process hosts the moto server for its whole life, and moto reads the AWS environment on every
    # request: the caller's profile, config file or per-service endpoints must not reach it (nor a real account).
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    sandbox = Sandbox(args.topology, probe_timeout=args.probe_timeout, monitoring=not args.no_monitoring,
                      discover=args.discover, noisy=args.noisy).start()
    try:
        sandbox.apply(*args.fault)
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
                stop.wait()
            except KeyboardInterrupt:
                pass
            return 0
        return run_suite(config, sandbox.process_env(), pytest_args)
    finally:
        sandbox.stop()


def run_suite(config: Path, env: dict, pytest_args: list[str]) -> int:
    cmd = [sys.executable, "-m", "pytest", "tests_live", f"--cabal-config={config}", *pytest_args]
    return subprocess.call(cmd, cwd=REPO, env=env)


if __name__ == "__main__":
    sys.exit(main())
