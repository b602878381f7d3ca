"""The docs cannot drift: every command README.md and docs/*.md show parses against the real option parsers, every
sample output is what its command prints today (against the sandbox), ``.ci/run`` runs the README's test command,
and the pages are the ones the README promises. How samples are marked and regenerated: ``tests_unit/docs_check.py``.
"""

import os
import re
from pathlib import Path

import pytest

from tests_unit import docs_check
from tests_unit.docs_check import REPO, Command, Sample

SAMPLES = docs_check.samples()
COMMANDS = [c for path in docs_check.doc_files() for c in docs_check.commands_in(path)]


def test_the_docs_show_commands_and_samples():
    programs = {c.program for c in COMMANDS}
    assert programs == {"pytest", "cabal-sandbox", "cabal-checks-exporter", "cabal-checks-notify"}, programs
    assert 3 <= len(SAMPLES) <= 7, [s.where for s in SAMPLES]  # each starts a sandbox: a few, well chosen


@pytest.mark.parametrize("path", docs_check.doc_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_command_shown_parses(path):
    found = [p for c in docs_check.commands_in(path) for p in docs_check.problems(c)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("command, words", [
    (Command("x.md:1", "pytest", ("-m", "imap", "--control-domain", "a.net", "--no-such-option", "1")),
     "pytest: no option --no-such-option"),
    (Command("x.md:1", "pytest", ("-m", "imap and not retired_marker")), "pytest -m: no marker retired_marker"),
    (Command("x.md:1", "pytest", ("tests_unit/test_gone.py",)), "no such test path tests_unit/test_gone.py"),
    (Command("x.md:1", "cabal-sandbox", ("--fault", "no-such-fault")), "cabal-sandbox: no fault no-such-fault"),
    (Command("x.md:1", "cabal-sandbox", ("--retired", "--", "--alert=x")), "cabal-sandbox: no option --retired"),
    (Command("x.md:1", "cabal-sandbox", ("--", "--probe-timout", "3")), "pytest: no option --probe-timout"),
    (Command("x.md:1", "cabal-checks-exporter", ("--interval", "60", "--lissen", ":1")), "no option --lissen"),
    (Command("x.md:1", "cabal-checks-notify", ("--results", "r.json", "--sate", "s.json")), "no option --sate"),
], ids=["pytest-option", "marker", "test-path", "fault", "sandbox-option", "pytest-after-dashes", "exporter",
        "notify"])
def test_a_removed_option_marker_fault_or_path_fails(command, words):
    found = docs_check.problems(command)
    assert len(found) == 1 and words in found[0], found


def unproven_blocks(markdown: str) -> list[int]:
    """Line numbers of code blocks that are neither shell (commands, parsed), nor a marked sample (run), nor
    ``text`` (an illustration that says what proves it)."""
    found, inside, prev = [], False, ""
    for n, line in enumerate(markdown.splitlines(), 1):
        if line.startswith("```"):
            if not inside and line[3:].strip() not in ("sh", "text") and not prev.startswith("<!-- sample: "):
                found.append(n)
            inside = not inside
        prev = line
    return found


@pytest.mark.parametrize("path", docs_check.doc_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_output_block_is_a_sample(path):
    found = unproven_blocks(path.read_text())
    assert not found, f"{path.relative_to(REPO)}: output blocks at lines {found} are not run by a test: mark each " \
                      "<!-- sample: COMMAND --> (or ```text for an illustration another test proves)"


def test_an_unmarked_output_block_is_found():
    assert unproven_blocks("```sh\npytest\n```\n\n```\nFAILED x\n```\n<!-- sample: c -->\n```\nok\n```\n") == [5]


def test_commands_are_found_in_blocks_spans_and_chains(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("Run `cabal-sandbox --fault imap-service-down -- -m\nimap` first.\n\n```sh\n"
                   ". env && CI=true python -m pytest tests_unit -n auto  # comment --bogus\n"
                   "cabal-checks-exporter --listen 127.0.0.1:9117 \\\n  --interval 60 -m \"not vpc\"\n```\n")
    found = [(c.program, c.args) for c in docs_check.commands_in_text(doc.read_text(), "doc.md")]
    assert found == [("pytest", ("tests_unit", "-n", "auto")),
                     ("cabal-checks-exporter", ("--listen", "127.0.0.1:9117", "--interval", "60", "-m", "not vpc")),
                     ("cabal-sandbox", ("--fault", "imap-service-down", "--", "-m", "imap"))]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.command)
def test_sample(sample):
    output = docs_check.run_sample(sample)
    if os.environ.get(docs_check.UPDATE_ENV) == "1":
        docs_check.write_back(sample, docs_check.regenerate(sample, output))
        return
    problem = docs_check.mismatch(sample, output)
    assert problem is None, problem


FAKE_OUTPUT = """sandbox 2026-05 up in 3.39s: moto at http://127.0.0.1:40775, 15 listeners on 127.0.0.1, faults: x
collected 3 items
tests_live/test_a.py F.. [100%]
=================================== FAILURES ===================================
sg-cd6251992b2329fc6 admits nothing on TCP 25 at 2026-12-03 05:52:17.068000+00:00
========================= 1 failed, 2 passed in 5.77s ==========================
"""


def sample_of(body: str) -> Sample:
    return Sample(REPO / "README.md", "cabal-sandbox --list-faults", body, 0)


def test_a_sample_matches_after_normalizing_what_varies():
    body = ("...\ncollected 3 items\n...\n======= FAILURES =======\nsg-38a21e4ac9c5ee0ff admits nothing on TCP 25 at "
            "2026-11-23 11:59:15+00:00\n=============== 1 failed, 2 passed in 0.4s ===============\n")
    assert docs_check.mismatch(sample_of(body), FAKE_OUTPUT) is None


def test_a_second_loopback_node_and_its_port_are_normalized():
    """The sandbox's second load-balancer node listens on 127.0.0.2 at a port of the day, also as nc's own word."""
    doc = "at 127.0.0.2:45167 in us-east-1b\nnext: nc -zv 127.0.0.2 45167\nnext: nc -zv smtp-in.cabal.example.test 25"
    real = "at 127.0.0.2:36319 in us-east-1b\nnext: nc -zv 127.0.0.2 36319\nnext: nc -zv smtp-in.cabal.example.test 25"
    assert docs_check.mismatch(sample_of(doc), real) is None
    assert docs_check.mismatch(sample_of(doc.replace(" 25", " 26")), real)  # a real port stays compared


@pytest.mark.parametrize("body, words", [
    ("...\ncollected 4 items\n...\n", "real: collected 3 items"),  # a stale count
    ("...\n= FAILURES =\nsg-1 admits nothing on TCP 587 at 2026-11-23 11:59:15\n...\n", "TCP 587"),  # stale text
    ("collected 3 items\n...\n", "part 1"),  # not the first line
    ("...\ntests_live/test_a.py F.. [100%]\n", "part 2"),  # not the last line
], ids=["count", "text", "start", "end"])
def test_a_stale_sample_fails_with_the_command_to_regenerate(body, words):
    problem = docs_check.mismatch(sample_of(body), FAKE_OUTPUT)
    assert problem and words in problem and f"{docs_check.UPDATE_ENV}=1 python -m pytest" in problem, problem


def test_regenerating_keeps_the_sample_shape():
    body = "...\ncollected 9 items\n...\n=== FAILURES ===\nold\n"
    new = docs_check.regenerate(sample_of(body), FAKE_OUTPUT)
    lines = FAKE_OUTPUT.splitlines()
    assert new == "\n".join(["...", lines[1], "...", *lines[3:]]) + "\n"
    assert docs_check.mismatch(sample_of(new), FAKE_OUTPUT) is None


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_the_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    main_job, tests = readme_commands()
    assert main_job.endswith("&& cabal-sandbox")
    test_command = tests.split(" && ")[-1]
    assert test_command == "python -m pytest tests_unit -n auto"
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test_command in ci, ".ci/run must run exactly the README's test command"
    install = "pip install -c requirements.lock -e \".[test]\""
    assert install in main_job and install in tests


def test_the_readme_is_a_front_page_and_its_links_resolve():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    for path in docs_check.doc_files() + [REPO / "bench" / "RESULTS.md", REPO / "CHANGELOG.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path.relative_to(REPO)}: broken link {target}"
    for page in ("on-call", "interface", "topologies", "continuous-verification", "sandbox", "read-only", "limits",
                 "runbook-coverage"):
        assert f"(docs/{page}.md)" in text, f"README.md does not link docs/{page}.md"
    assert "(bench/RESULTS.md)" in text and "(CHANGELOG.md)" in text


def test_every_doc_page_is_linked_from_the_readme():
    text = (REPO / "README.md").read_text()
    pages = {p.name for p in Path(REPO / "docs").glob("*.md")}
    assert {p for p in pages if f"(docs/{p})" not in text} == set()


def test_the_unknown_names_message_points_at_a_page_that_has_the_names(tmp_path):
    from cabal_checks.config import ConfigError, load_settings

    config = tmp_path / "cabal.toml"
    config.write_text('control_domain = "x.net"\n[names]\nclustr = "c"\n')
    with pytest.raises(ConfigError) as info:
        load_settings({"cabal_config": str(config)}, env={})
    page, section = re.search(r"see ([\w/.-]+\.md), '([^']+)'", str(info.value)).groups()
    assert section in (REPO / page).read_text(), str(info.value)
