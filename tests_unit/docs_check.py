"""Docs that cannot drift: the commands and sample outputs that README.md and docs/*.md show, checked.

Commands: every ``pytest`` / ``python -m pytest`` / ``cabal-sandbox`` / ``python -m cabal_checks.sandbox`` /
``cabal-checks-exporter`` / ``cabal-checks-notify`` command in a code block or an inline code span is parsed
against the real option parsers (pytest's own, with this suite's
plugins; the others' ``--help``): each option, marker, fault and test path must exist.

Samples: an HTML comment names the command that produced the code block right after it::

    <!-- sample: cabal-sandbox --fault imap-service-down -- -m imap -->
    ```
    ...
    =================================== FAILURES ===================================
    (the lines, to the end of the output)
    ```

A line ``...`` elides output. The block's parts (between ``...`` lines) must appear in the command's real output in
that order, each as consecutive lines; a part not preceded by ``...`` starts the output, one not followed by ``...``
ends it. Lines are compared after ``normalize`` (times, ports, durations, AWS ids, temporary paths vary).
``CABAL_DOCS_UPDATE=1 python -m pytest tests_unit/test_docs.py`` rewrites every sample from a fresh run: each part
is found again by its first line (its text before the first digit), keeps its length, and the last part runs to the
end of the output unless the block ends with ``...``.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cabal_checks.sandbox.sandbox import clean_environ

REPO = Path(__file__).resolve().parents[1]
ELIDED = "..."
UPDATE_ENV = "CABAL_DOCS_UPDATE"


def _environ() -> dict[str, str]:
    """A child's environment as in an operator's terminal: a fixed width (pytest's summary lines and argparse's help
    wrap to ``COLUMNS``) and not CI (under ``CI``/``BUILD_NUMBER`` pytest prints whole messages in its summary)."""
    return clean_environ({"COLUMNS": "80", "LINES": "24", "CI": None, "BUILD_NUMBER": None})


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


# ---- commands ------------------------------------------------------------------------------------------------

PROGRAMS = {  # how a command starts -> (the program it is, how many words that took)
    ("pytest",): "pytest", ("python", "-m", "pytest"): "pytest", ("python3", "-m", "pytest"): "pytest",
    ("cabal-sandbox",): "cabal-sandbox", ("python", "-m", "cabal_checks.sandbox"): "cabal-sandbox",
    ("cabal-checks-exporter",): "cabal-checks-exporter", ("cabal-checks-notify",): "cabal-checks-notify",
}
HELP = {
    "cabal-sandbox": [sys.executable, "-m", "cabal_checks.sandbox", "--help"],
    "cabal-checks-exporter": [sys.executable, "-c", "import sys; from cabal_checks.exporter import main; "
                              "sys.exit(main(['--help']))"],
    "cabal-checks-notify": [sys.executable, "-c", "import sys; from cabal_checks.notify import main; "
                            "sys.exit(main(['--help']))"],
}


@dataclass(frozen=True)
class Command:
    where: str  # file:line
    program: str  # a key of HELP
    args: tuple[str, ...]


def code_texts(text: str) -> list[tuple[int, str]]:
    """(line number, text) of every shell line in a code block and every inline code span."""
    found, in_block, block_lang = [], False, ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_block, block_lang = (not in_block), line[3:].strip()
            i += 1
            continue
        if in_block:
            start, joined = i + 1, line
            while joined.endswith("\\") and i + 1 < len(lines):
                i += 1
                joined = joined[:-1] + " " + lines[i].strip()
            if block_lang in ("sh", "bash", "shell", ""):
                found.append((start, joined))
        i += 1
    prose = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for m in re.finditer(r"`([^`]+)`", prose):
        found.append((prose.count("\n", 0, m.start()) + 1, " ".join(m.group(1).split())))
    return found


def commands_in(path: Path) -> list[Command]:
    return commands_in_text(path.read_text(), str(path.relative_to(REPO)))


def commands_in_text(markdown: str, name: str) -> list[Command]:
    out = []
    for lineno, text in code_texts(markdown):
        try:
            lex = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
            lex.whitespace_split = True
            lex.commenters = "#"
            words = list(lex)
        except ValueError:  # not shell (an unbalanced quote in prose)
            continue
        segment: list[str] = []
        for word in [*words, ";"]:
            if word and set(word) <= set(";&|()<>"):
                command = _command(segment, f"{name}:{lineno}")
                if command:
                    out.append(command)
                segment = []
            else:
                segment.append(word)
    return out


def _command(words: list[str], where: str) -> Command | None:
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value prefixes
        words = words[1:]
    for start, program in PROGRAMS.items():
        if tuple(words[:len(start)]) == start:
            return Command(where, program, tuple(words[len(start):]))
    return None


PYTEST_PARSER = """
import json, pytest
class Dump:
    def pytest_configure(self, config):
        groups = [config._parser._anonymous, *config._parser._groups]
        self.out = {"options": sorted({n for g in groups for o in g.options for n in o.names()}),
                    "markers": sorted({m.split(":")[0].split("(")[0].strip() for m in config.getini("markers")})}
dump = Dump()
pytest.main(["--markers", "-q"], plugins=[dump])
print("@@" + json.dumps(dump.out))
"""


@cache
def pytest_parser() -> dict[str, frozenset[str]]:
    """The options (every alias: pytest's own parser, with this suite's plugins and xdist's) and the markers."""
    proc = subprocess.run([sys.executable, "-c", PYTEST_PARSER], cwd=REPO, env=_environ(), capture_output=True,
                          text=True, timeout=120)
    data = json.loads(proc.stdout.rpartition("@@")[2]) if "@@" in proc.stdout else None
    assert data, f"pytest's parser: {proc.stdout[-1000:]}{proc.stderr[-2000:]}"
    return {k: frozenset(v) for k, v in data.items()}


@cache
def help_options(program: str) -> frozenset[str]:
    """The options ``program`` takes: pytest's parser, or what an argparse ``--help`` lists (long and short)."""
    if program == "pytest":
        return pytest_parser()["options"]
    proc = subprocess.run(HELP[program], cwd=REPO, env=_environ(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(HELP[program])}: {proc.stderr[-2000:]}"
    options = set()
    for line in proc.stdout.splitlines():
        if re.match(r"\s{2,}-", line):
            flags = line.strip().split("  ")[0]
            options |= set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", flags))
    return frozenset(options)


def markers() -> frozenset[str]:
    return pytest_parser()["markers"]


def _known(option: str, known: frozenset[str]) -> bool:
    name = option.split("=")[0]
    if name in known:
        return True
    return not name.startswith("--") and len(name) > 2 and name[:2] in known  # -rA, -ra: -r with its value


def problems(command: Command) -> list[str]:
    """What in ``command`` the real parsers do not know (an empty list: it parses)."""
    from cabal_checks.sandbox.faults import FAULTS

    found: list[str] = []
    args = list(command.args)
    if command.program == "cabal-sandbox" and "--" in args:
        i = args.index("--")
        found += problems(Command(command.where, "pytest", tuple(args[i + 1:])))
        args = args[:i]
    known = help_options(command.program)
    if command.program == "cabal-checks-exporter":  # every option it does not know goes to pytest
        known = known | help_options("pytest")
    for i, word in enumerate(args):
        before = args[i - 1] if i else ""
        if word == ELIDED:
            continue
        if word.startswith("-") and not re.fullmatch(r"-\d.*|\+.*", word):
            if not _known(word, known):
                found.append(f"{command.where}: {command.program}: no option {word.split('=')[0]}")
        elif before == "-m" and command.program in ("pytest", "cabal-checks-exporter"):
            unknown = set(re.findall(r"[A-Za-z_]\w*", word)) - {"and", "or", "not"} - markers()
            found += [f"{command.where}: pytest -m: no marker {m}" for m in sorted(unknown)]
        elif before == "--fault" and word not in FAULTS:
            found.append(f"{command.where}: cabal-sandbox: no fault {word}")
        elif command.program == "pytest" and re.match(r"tests_\w+", word) and not before.startswith("-"):
            if not (REPO / word.split("::")[0]).exists():
                found.append(f"{command.where}: pytest: no such test path {word}")
    return found


# ---- samples -------------------------------------------------------------------------------------------------

SAMPLE = re.compile(r"^<!-- sample: (?P<command>.+?) -->\n```[^\n]*\n(?P<body>.*?)^```$", re.M | re.S)
RUNNERS = {"cabal-sandbox": [sys.executable, "-m", "cabal_checks.sandbox"]}

NORMALIZE = [  # (what varies, what it becomes)
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?"), "<time>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\b(sg|vpc|subnet|acl|rtb|i|eni|igw|nat)-[0-9a-f]{8,17}\b"), r"\1-<id>"),
    (re.compile(r"(targetgroup|loadbalancer/(net|app))/([\w-]+)/[0-9a-f]{16}"), r"\1/\3/<id>"),
    (re.compile(r"certificate/[0-9a-f-]{36}"), "certificate/<id>"),
    (re.compile(r"(127\.0\.0\.\d+|localhost|\[::1\]):\d+"), r"\1:<port>"),  # any loopback: the sandbox's nodes
    (re.compile(r"\b(127\.0\.0\.\d+) \d+\b"), r"\1 <port>"),  # nc -zv ADDR PORT
    (re.compile(r"/tmp/[\w./-]+"), "<tmp>"),
    (re.compile(r"\b\d+(\.\d+)?s\b"), "<N>s"),
    (re.compile(r"\(\d+:\d\d:\d\d\)"), "(<duration>)"),
    (re.compile(r"^(=+ .*? =+)$"), lambda m: "== " + m.group(1).strip("= ") + " =="),  # width follows the counts
]


def normalize(line: str) -> str:
    line = line.rstrip()
    for pattern, replacement in NORMALIZE:
        line = pattern.sub(replacement, line)
    return line


@dataclass(frozen=True)
class Sample:
    path: Path
    command: str
    body: str
    start: int  # offset of the body in the file

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.path.read_text().count(chr(10), 0, self.start) + 1}"

    def parts(self) -> list[list[str]]:
        parts: list[list[str]] = [[]]
        for line in self.body.splitlines():
            if line.strip() == ELIDED:
                parts.append([])
            else:
                parts[-1].append(line)
        return parts  # an empty first/last part: the block starts/ends with "..."


def samples() -> list[Sample]:
    found = []
    for path in doc_files():
        for m in SAMPLE.finditer(path.read_text()):
            found.append(Sample(path, m.group("command"), m.group("body"), m.start("body")))
    return found


def run_sample(sample: Sample) -> str:
    words = shlex.split(sample.command)
    assert words[0] in RUNNERS, f"{sample.where}: a sample runs one of {sorted(RUNNERS)}, not {words[0]}"
    proc = subprocess.run([*RUNNERS[words[0]], *words[1:]], cwd=REPO, env=_environ(), capture_output=True,
                          text=True, timeout=300)
    assert proc.stdout.strip(), f"{sample.where}: {sample.command} printed nothing: {proc.stderr[-2000:]}"
    return proc.stdout


def mismatch(sample: Sample, output: str) -> str | None:
    """None when the sample's parts appear in ``output`` as the block says; else what differs."""
    out = [normalize(line) for line in output.splitlines()]
    parts = sample.parts()
    at = 0
    for n, part in enumerate(parts):
        want = [normalize(line) for line in part]
        if not want:
            continue
        anchored_start, anchored_end = n == 0, n == len(parts) - 1
        starts = [0] if anchored_start else range(at, len(out) - len(want) + 1)
        hit = next((s for s in starts if out[s:s + len(want)] == want
                    and (not anchored_end or s + len(want) == len(out))), None)
        if hit is None:
            near = _anchor_index(out, want[0], at)
            seen = out[near:near + len(want)] if near is not None else out[at:at + len(want)]
            diff = next((f"doc:  {w}\nreal: {s}" for w, s in zip(want, [*seen, *[""] * len(want)], strict=False)
                         if w != s), "")
            return (f"{sample.where}: the sample of `{sample.command}` differs from its real output (part {n + 1}):\n"
                    f"{diff}\nregenerate: {UPDATE_ENV}=1 python -m pytest tests_unit/test_docs.py -k sample")
        at = hit + len(want)
    return None


def _anchor(line: str) -> str:
    return re.split(r"\d", line, maxsplit=1)[0].strip() or line


def _anchor_index(out: list[str], first: str, at: int) -> int | None:
    return next((i for i in range(at, len(out)) if out[i].startswith(_anchor(first))), None)


def regenerate(sample: Sample, output: str) -> str:
    """The sample's new body from ``output``, keeping its shape (see the module's docstring)."""
    raw = [line.rstrip() for line in output.splitlines()]
    out = [normalize(line) for line in raw]
    parts = sample.parts()
    body: list[str] = []
    at = 0
    for n, part in enumerate(parts):
        if n:
            body.append(ELIDED)
        if not part:
            continue
        start = 0 if n == 0 else _anchor_index(out, normalize(part[0]), at)
        assert start is not None, f"{sample.where}: cannot find {_anchor(normalize(part[0]))!r} in the new output; " \
                                  "edit the sample by hand"
        end = len(raw) if n == len(parts) - 1 else start + len(part)
        body += raw[start:end]
        at = end
    return "\n".join(body) + "\n"


def write_back(sample: Sample, new_body: str) -> None:
    """Replace the body of the sample of the same command in its file (found again: an earlier rewrite moves it)."""
    text = sample.path.read_text()
    for m in SAMPLE.finditer(text):
        if m.group("command") == sample.command:
            sample.path.write_text(text[:m.start("body")] + new_body + text[m.end("body"):])
            return
    raise AssertionError(f"{sample.where}: the sample of {sample.command} is gone")
