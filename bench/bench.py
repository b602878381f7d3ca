"""Speed, measured side by side on the embedded sandbox. Prints a markdown table of medians.

    python bench/bench.py [--repeat 5] [--topology 2026-05]

1. sandbox start-up, cold (a new process, imports included) and warm (again in the same process);
2. the healthy full live suite, and its ratio to `pytest --collect-only` of the same suite (goal <= 1.3);
3. every endpoint hanging (fault every-endpoint-silent: each listener accepts and stays silent): wall time, ratio to
   --probe-timeout + collect-only (goal <= 1.1);
4. AWS API calls per full run, and duplicates (goal: every distinct call once); and the floor under (2): what
   boto3 alone takes to create the clients the run uses;
5. the same verdicts from the runbook's own commands (TCP connect as `nc -z`, openssl s_client, curl, the aws CLI)
   run one after another as a shell script against the same sandbox, and its ratio to our full run (goal >= 5x).

AWS-latency mode, ``python bench/bench.py --latency 0,50,150 [--repeat 5]``: every AWS request goes through a proxy
that delays it by L ms (bench/latency.py, in a process of its own), as a distant region would. Per L and selection
(the full suite, ``-m imap``, ``-m submission``, ``-m cert_expiring``, ``-m condition``): wall time against
collect-only + 3 x L + 0.4 s, and from the run's request log its dependency depth (goal <= 3), peak requests in
flight, connections opened, each service's peak requests per second and FilterLogEvents' against its quota; and the
runbook's own commands under the same L, as a ratio (goal >= 8x).
Runs are alternated (collect-only, then each selection, repeat) so that the machine's drift hits all alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cabal_checks.sandbox.sandbox import Sandbox, clean_environ  # noqa: E402


def timed(cmd: list[str] | str, env: dict, shell: bool = False) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, shell=shell, timeout=600)
    return time.monotonic() - t0, proc


def median_of(n: int, fn) -> tuple[float, list[float]]:
    samples = [fn() for _ in range(n)]
    return statistics.median(samples), samples


def runbook_script(sb: Sandbox) -> str:
    """The runbooks' own commands, with the sandbox's addresses, one after another."""
    cfg, n, cd = sb.config(), sb.names, sb.control_domain
    ca = cfg["ca_bundle"]
    lines = ["set +e"]
    for entry in cfg["connect_to"]:
        host, port, lhost, lport = entry.split(":")
        ep = next(e for e in sb.topology.endpoints + sb.topology.sites if e.host == host and e.port == int(port))
        if ep.scheme == "https":
            lines.append(f"curl -sS -o /dev/null -w '%{{http_code}}\\n' --max-time 5 --cacert {ca} "
                         f"--connect-to {entry} https://{host}{ep.path or '/'}")
        elif ep.scheme == "smtp":
            lines.append(f"timeout 5 bash -c '</dev/tcp/{lhost}/{lport}' && echo open  # nc -zv {host} {port}")
        else:
            starttls = {"smtp+starttls": "-starttls smtp", "imap+starttls": "-starttls imap"}.get(ep.scheme, "")
            lines.append(f"echo | timeout 5 openssl s_client -connect {lhost}:{lport} {starttls} "
                         f"-servername {ep.verify_name} -CAfile {ca} -verify_return_error -brief 2>&1 | head -3")
    services = " ".join(n[k] for k in sb.topology.services())
    tgs = " ".join(n[k] for k in sb.topology.target_groups())
    aws = "aws --region us-east-1 --output text"
    lines += [
        f"{aws} ecs describe-services --cluster {n['cluster']} --services {services} "
        "--query 'services[].{name:serviceName,running:runningCount,desired:desiredCount,events:events[0:3]}'",
        f"for arn in $({aws} elbv2 describe-target-groups --names {tgs} --query 'TargetGroups[].TargetGroupArn'); do "
        f"{aws} elbv2 describe-target-health --target-group-arn $arn; done",
        f"{aws} elbv2 describe-listeners --load-balancer-arn $({aws} elbv2 describe-load-balancers --names {n['nlb']} "
        "--query 'LoadBalancers[0].LoadBalancerArn')",
        f"{aws} ec2 describe-security-groups --filters "
        f"Name=group-name,Values={n['sg_imap']},{n['sg_smtp_in']},{n['sg_smtp_out']}",
        f"{aws} ec2 describe-network-acls",
        f"{aws} ecs list-container-instances --cluster {n['cluster']}",
        f"{aws} ec2 describe-instances --filters 'Name=tag:Name,Values={n['nat_instance_prefix']}*'",
        f"{aws} ec2 describe-route-tables --filters 'Name=tag:Name,Values={n['private_route_table_prefix']}*'",
        f"for z in $({aws} route53 list-hosted-zones-by-name --dns-name {cd} --query 'HostedZones[].Id'); do "
        f"{aws} route53 list-resource-record-sets --hosted-zone-id $z > /dev/null; done",
        f"{aws} logs filter-log-events --log-group-name {n['imap_log_group']} --filter-pattern fail2ban",
        f"arn=$({aws} acm list-certificates --query 'CertificateSummaryList[0].CertificateArn'); "
        f"{aws} acm describe-certificate --certificate-arn $arn "
        "--query 'Certificate.{status:Status,renewalStatus:RenewalSummary.RenewalStatus}'",
        f"{aws} cloudfront get-distribution-config --id $({aws} ssm get-parameter --name {n['cf_distribution_param']} "
        "--query Parameter.Value) > /dev/null",
        f"{aws} lambda get-function-configuration --function-name {n['certbot_function']} > /dev/null",
        f"{aws} scheduler get-schedule --name {n['certbot_schedule']}",
        f"{aws} logs filter-log-events --log-group-name {n['certbot_log_group']} --filter-pattern rateLimited",
        f"{aws} ssm get-parameter --name {n['ssm_cert']} --with-decryption --query Parameter.LastModifiedDate",
        f"{aws} ecs list-tasks --cluster {n['cluster']} --service-name {n['service_smtp_out']}",
    ]
    return "\n".join(lines) + "\n"


SELECTIONS = (("full live suite", ()), ("-m imap", ("-m", "imap")), ("-m submission", ("-m", "submission")),
              ("-m cert_expiring", ("-m", "cert_expiring")), ("-m condition", ("-m", "condition")))
FILTER_LOG_EVENTS_QUOTA = 5  # CloudWatch Logs FilterLogEvents: 5 transactions per second per account and Region


def latency_mode(args) -> None:
    from bench.latency import DelayProxyProcess, depth, most_in_a_second, peak_in_flight, peak_per_second, sent

    sb = Sandbox(args.topology).start()
    out = ["| L ms | run | wall s (median) | samples | collect-only + 3L + 0.4 s | met | dependency depth "
           "(gathering) | peak in flight | connections | requests | peak requests/s per service |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    try:
        tmp = Path(tempfile.mkdtemp())
        config = sb.write_config(tmp / "cabal.toml")
        log = tmp / "requests.json"
        for ms in args.latency:
            proxy = DelayProxyProcess(sb.endpoint_url, ms / 1000)
            env = {**sb.process_env(), "AWS_ENDPOINT_URL": proxy.url, "CABAL_BENCH_REQUESTS": str(log)}
            base = [sys.executable, "-m", "pytest", "tests_live", f"--cabal-config={config}", "-q", "-p", "no:randomly",
                    "-p", "bench.record_requests"]
            samples: dict[str, list[float]] = {"collect-only": []}
            seen: dict[str, tuple] = {}
            for _ in range(args.repeat):
                samples["collect-only"].append(timed(base + ["--collect-only"], env)[0])
                for name, sel in SELECTIONS:
                    before = proxy.connections
                    proxy.filter_arrivals()  # forget the arrivals of the runs before this one
                    wall, proc = timed(base + list(sel), env)
                    if proc.returncode != 0:
                        raise SystemExit(f"{name} at L={ms} ms did not pass:\n{proc.stdout[-3000:]}")
                    samples.setdefault(name, []).append(wall)
                    seen[name] = (json.loads(log.read_text()), proxy.connections - before, proxy.filter_arrivals())
            collect = statistics.median(samples["collect-only"])
            budget = collect + 3 * ms / 1000 + 0.4
            out.append(f"| {ms} | collect-only | {collect:.2f} | {_shown(samples['collect-only'])} | | | | | | | |")
            for name, _ in SELECTIONS:
                wall = statistics.median(samples[name])
                requests, connections, arrivals = seen[name]
                d, thread = depth(requests)
                rates = ", ".join(f"{s} {n}" for s, n in peak_per_second(requests).items())
                rates += f"; FilterLogEvents peak {most_in_a_second(arrivals)}/s as AWS receives them (quota " \
                         f"{FILTER_LOG_EVENTS_QUOTA}/s)"
                out.append(f"| {ms} | {name} | {wall:.2f} | {_shown(samples[name])} | {budget:.2f} | "
                           f"{'yes' if wall <= budget else 'no'} | {d} ({thread.split('#')[0]}) | "
                           f"{peak_in_flight(requests)} | {connections} | {len(sent(requests))} | {rates} |")
                if name == SELECTIONS[0][0]:
                    full = wall
            if not args.skip_runbook and shutil.which("aws"):
                script = tmp / "runbook.sh"
                script.write_text(runbook_script(sb))
                rb, rs = median_of(max(args.repeat // 2, 1), lambda script=script, env=env: timed(["bash", str(script)], env)[0])
                out.append(f"| {ms} | runbook's own commands | {rb:.2f} | {_shown(rs)} | | {rb / full:.1f}x our full "
                           f"run (goal >= 8x) | | | | | |")
            proxy.stop()
    finally:
        sb.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"AWS-latency mode ({args.topology}, median of {args.repeat}, alternated)\n")
    print("\n".join(out))


def _shown(samples) -> str:
    return " ".join(f"{s:.2f}" for s in samples)


def _start_stop(topology: str) -> float:
    sb = Sandbox(topology).start()
    sb.stop()
    return sb.start_seconds


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--topology", default="2026-05")
    p.add_argument("--skip-runbook", action="store_true", help="skip the aws-CLI comparison")
    p.add_argument("--latency", type=lambda v: [int(x) for x in v.split(",")], default=None,
                   help="AWS-latency mode: comma-separated delays in ms added to every AWS request, e.g. 0,50,150")
    args = p.parse_args()
    if args.latency:
        return latency_mode(args)
    rows = []

    # Cold: a fresh process, imports included (what `cabal-sandbox` costs); warm: again in the same process.
    cold_code = ("import time; t = time.monotonic(); from cabal_checks.sandbox.sandbox import Sandbox; "
                 f"sb = Sandbox({args.topology!r}).start(); print(time.monotonic() - t); sb.stop()")
    cold, cs = median_of(max(args.repeat // 2, 1), lambda: float(timed(
        [sys.executable, "-c", cold_code], clean_environ({"PYTHONPATH": str(REPO)}))[1].stdout))
    rows.append(("sandbox start-up, cold (new process, imports included)", cold, cs, "goal: about 2 s"))
    Sandbox(args.topology).start().stop()
    warm, ws = median_of(args.repeat, lambda: _start_stop(args.topology))
    rows.append(("sandbox start-up, warm (again in the same process)", warm, ws, "goal: about 2 s"))

    sb = Sandbox(args.topology).start()
    try:
        tmp = Path(tempfile.mkdtemp())
        config = sb.write_config(tmp / "cabal.toml")
        env = sb.process_env()
        base = [sys.executable, "-m", "pytest", "tests_live", f"--cabal-config={config}", "-q", "-p", "no:randomly"]

        collect, cs = median_of(args.repeat, lambda: timed(base + ["--collect-only"], env)[0])
        rows.append(("collect-only", collect, cs, ""))
        full, fs = median_of(args.repeat, lambda: timed(base, env)[0])
        rows.append(("healthy full live suite", full, fs, f"ratio to collect-only {full / collect:.2f} (goal <= 1.3)"))

        calls_file = tmp / "calls.json"
        _, proc = timed(base + ["-p", "bench.record_calls"], {**env, "CABAL_BENCH_CALLS": str(calls_file)})
        calls = [tuple(c) for c in json.loads(calls_file.read_text())]
        dup = {c: k for c, k in Counter(calls).items() if k > 1}
        rows.append(("AWS API calls per full run", len(calls), [], f"{len(set(calls))} distinct (service, operation) "
                     f"kinds; duplicate identical requests: none by construction (memoized)" if not dup else
                     f"repeated operation kinds (different parameters): {len(dup)}"))

        # The floor under the healthy ratio: what boto3 alone costs to make the clients this run needs (one thread,
        # boto3 already imported as collection imports it, no call sent).
        services = sorted({service for service, _ in calls})
        floor_code = ("import time, boto3; s = boto3.session.Session(region_name='us-east-1'); t = time.monotonic(); "
                      f"[s.client(x) for x in {services!r}]; print(time.monotonic() - t)")
        floor, fls = median_of(args.repeat, lambda: float(timed([sys.executable, "-c", floor_code], env)[1].stdout))
        rows.append((f"floor: boto3 creating the run's {len(services)} clients", floor, fls,
                     f"collect-only + this alone is a ratio of {(collect + floor) / collect:.2f}, before any call"))

        sb.apply("every-endpoint-silent")
        hang, hs = median_of(args.repeat, lambda: timed(base, env)[0])
        budget = sb.probe_timeout + collect
        rows.append(("every endpoint hanging", hang, hs,
                     f"ratio to probe-timeout ({sb.probe_timeout:g}s) + collect-only {hang / budget:.2f} (goal <= 1.1)"))
        sb.reset()

        if shutil.which("aws") is None and not args.skip_runbook:
            rows.append(("runbook's own commands", 0.0, [], "skipped: no `aws` CLI on PATH (pip install awscli in "
                         "a separate venv: it pins its own botocore)"))
        elif not args.skip_runbook:
            script = tmp / "runbook.sh"
            script.write_text(runbook_script(sb))
            rb, rs = median_of(max(args.repeat // 2, 1), lambda script=script, env=env: timed(["bash", str(script)], env)[0])
            rows.append(("runbook's own commands, one after another", rb, rs,
                         f"{rb / full:.1f}x our full run (goal >= 5x); {script.read_text().count(chr(10))} commands"))
    finally:
        sb.stop()

    print(f"| figure ({args.topology}, median of {args.repeat}) | seconds | samples | note |\n|---|---|---|---|")
    for name, value, samples, note in rows:
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"| {name} | {shown} | {' '.join(f'{s:.2f}' for s in samples)} | {note} |")


if __name__ == "__main__":
    main()
