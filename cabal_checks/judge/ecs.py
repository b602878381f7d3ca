"""Probe-failure step 2: is the tier's ECS service running what it should; is it stuck restarting."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..verdict import Verdict, green, red

STEP2 = "probe-failure, step 2 (ECS service health)"
RESTART_WINDOW = timedelta(minutes=30)
RESTART_LIMIT = 3


def _describe(cluster: str, name: str) -> str:
    return (f"aws ecs describe-services --cluster {cluster} --services {name} "
            "--query 'services[].{name:serviceName,running:runningCount,desired:desiredCount,events:events[0:3]}'")


def _stopped_evidence(stopped: list[dict], limit: int = 3) -> list[str]:
    return [f"stopped task {t['taskArn'].rsplit('/', 1)[-1]} at {t.get('stoppedAt', '?')}: "
            f"{t.get('stopCode', '')} {t.get('stoppedReason', 'no reason given')}".replace("  ", " ")
            for t in stopped[:limit]]


def service_running(cluster: str, name: str, svc: dict | None, stopped: list[dict]) -> Verdict:
    """runningCount >= desiredCount > 0: the runbook's smoking gun when not."""
    if svc is None:
        return red(f"ECS service {name} not found in cluster {cluster}", step=STEP2,
                   next=[f"aws ecs list-services --cluster {cluster}"])
    running, desired, pending = svc.get("runningCount", 0), svc.get("desiredCount", 0), svc.get("pendingCount", 0)
    counts = f"running {running}, desired {desired}, pending {pending}"
    facts = (("running", str(running)), ("desired", str(desired)))
    if desired > 0 and running >= desired:
        return green(f"{name}: {counts}", step=STEP2, facts=facts)
    events = [f"event {e.get('createdAt', '')}: {e.get('message', '')}" for e in svc.get("events", [])[:3]]
    rollouts = [f"deployment {d.get('status')}: rollout {d.get('rolloutState', '?')} "
                f"({d.get('rolloutStateReason', '')}) running {d.get('runningCount')}/{d.get('desiredCount')}"
                for d in svc.get("deployments", []) if d.get("rolloutState") == "FAILED"]
    summary = (f"{name}: desiredCount is 0 - the tier is switched off (quiesced?)" if desired == 0
               else f"{name}: runningCount {running} < desiredCount {desired}")
    next_ = [_describe(cluster, name)]
    if stopped:
        next_.append(f"aws ecs describe-tasks --cluster {cluster} --tasks {stopped[0]['taskArn']}")
    next_.append(f"aws logs tail /ecs/{name} --since 30m")
    return red(summary, counts, *events or ["events: none recorded"], *rollouts, *_stopped_evidence(stopped),
               step=STEP2, next=next_, facts=facts)


def _health_evidence(tasks: list[dict]) -> list[str]:
    out = []
    for t in tasks:
        containers = ", ".join(f"{c.get('name')} {c.get('healthStatus', 'UNKNOWN')}" for c in t.get("containers", []))
        out.append(f"task {t['taskArn'].rsplit('/', 1)[-1]} started {t.get('startedAt', '?')}: "
                   f"healthStatus {t.get('healthStatus', 'UNKNOWN')}" + (f" (containers: {containers})" if containers else ""))
    return out


def tasks_healthy(cluster: str, name: str, running: list[dict]) -> Verdict:
    """Every running task of a tier with container health checks is not UNHEALTHY (cabal-infra 53ac616e,
    191cbc30: the imap and smtp-out tiers' health is ECS task health; there is no target group to ask)."""
    sick = [t for t in running if t.get("healthStatus") == "UNHEALTHY"]
    if not sick:
        states = sorted({t.get("healthStatus", "UNKNOWN") for t in running})
        return green(f"{name}: {len(running)} running task(s), health {', '.join(states)}", *_health_evidence(running),
                     step=STEP2)
    return red(f"{name}: {len(sick)} of {len(running)} running task(s) UNHEALTHY: the container health check fails "
               "(the task runs, the service behind it does not answer)", *_health_evidence(running), step=STEP2,
               next=[f"aws ecs describe-tasks --cluster {cluster} --tasks {sick[0]['taskArn']} "
                     "--query 'tasks[].{health:healthStatus,containers:containers[].{name:name,health:healthStatus}}'",
                     f"aws logs tail /ecs/{name} --since 30m",
                     f"if it stays UNHEALTHY: aws ecs update-service --cluster {cluster} --service {name} "
                     "--force-new-deployment  # printed, never run"])


def not_restarting(cluster: str, name: str, stopped: list[dict], now: datetime) -> Verdict:
    """Fewer than RESTART_LIMIT tasks stopped in the last RESTART_WINDOW."""
    recent = [t for t in stopped if t.get("stoppedAt") and _aware(t["stoppedAt"]) >= now - RESTART_WINDOW]
    window = int(RESTART_WINDOW.total_seconds() // 60)
    if len(recent) < RESTART_LIMIT:
        return green(f"{name}: {len(recent)} task(s) stopped in the last {window} min", step=STEP2)
    reasons = sorted({t.get("stoppedReason", "?") for t in recent})
    health = (["ECS replaced them for failing container health checks: the tier starts, then stops answering "
               "(aws ecs describe-task-definition: healthCheck)"] if any("health check" in r for r in reasons) else [])
    return red(f"{name} is stuck restarting: {len(recent)} tasks stopped in the last {window} min",
               *_stopped_evidence(recent), f"distinct reasons: {'; '.join(reasons)}", *health, step=STEP2,
               next=[f"aws ecs describe-tasks --cluster {cluster} --tasks {recent[0]['taskArn']}",
                     f"aws logs tail /ecs/{name} --since 1h"])


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=datetime.now().astimezone().tzinfo)
