"""The commands the documentation shows still exist.

The README (about 4,000 lines) and docs/ quote some 300 ``azsim`` command lines, most of them
the recorded command of a measured figure. A renamed option or configuration field would leave
them wrong with nothing failing, so every quoted command is parsed here, without running it:
its subcommand must exist, each ``--option`` must be one of that subcommand's, and each
``--set`` / ``--zip`` key must name a field of the model or hardware configuration.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import click
import pytest

from azsim.cli import cli
from azsim.config.schema import HardwareConfig, ModelConfig

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

# Report keys and file names written in backticks that look like settings but are not.
NOT_SETTINGS = {"model.activation_table_bytes", "model.weight_side_bytes", "model.py"}


def quoted_commands(text: str) -> list[str]:
    """``azsim ...`` in inline code, ``$ azsim ...`` lines in code blocks, and every
    ``azsim ...`` line of a ```bash block (the output lines of other blocks are not commands)."""
    found = [m.group(1) for m in re.finditer(r"`(azsim [^`]+)`", text)]
    fence = None
    lines = text.splitlines()
    for k, line in enumerate(lines):
        s = line.strip()
        if s.startswith("```"):
            fence = None if fence is not None else s[3:].strip()
            continue
        if fence is None:
            continue
        if s.startswith("$ azsim "):
            cmd = s[2:]
        elif fence == "bash" and s.startswith("azsim "):
            cmd = s
        else:
            continue
        while cmd.endswith("\\") and k + 1 < len(lines):   # a continued line
            k += 1
            cmd = cmd[:-1] + " " + lines[k].strip()
        found.append(cmd)
    return found


def option_problems(command: str) -> list[str]:
    ctx = click.Context(cli)
    words = command.split()
    if len(words) > 1 and words[1] in ("--help", "-h", "--version"):
        return []
    cmd = cli.get_command(ctx, words[1]) if len(words) > 1 else None
    if cmd is None:
        return [f"no subcommand {words[1:2]}"]
    rest = words[2:]
    if isinstance(cmd, click.Group) and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(ctx, rest[0])
        if sub is None:
            return [f"no subcommand {words[1]} {rest[0]}"]
        cmd = sub
    known = {"--help", "-h"}
    for param in cmd.params:
        known.update(getattr(param, "opts", ()))
        known.update(getattr(param, "secondary_opts", ()))
    problems = []
    for word in rest:
        if word.startswith("#"):   # a shell comment
            break
        if not word.startswith("-") or word == "-" or re.match(r"-\d", word):
            continue
        for name in word.lstrip("[").split("|"):   # [--gptq], --csv|--json
            name = name.split("=")[0].rstrip(",.;:)]")
            if name and name not in known:
                problems.append(f"no option {name}")
    return problems


def field_exists(path: str) -> bool:
    parts = path.split(".")
    cls = {"model": ModelConfig, "hw": HardwareConfig}.get(parts[0])
    for part in parts[1:]:
        if cls is None or not dataclasses.is_dataclass(cls):
            return False
        cls = typing.get_type_hints(cls).get(part)
    return cls is not None


def setting_problems(text: str) -> list[str]:
    # lower case: hw.FIELD and the like are placeholders
    keys = re.findall(r"--(?:set|zip)\s+'?((?:model|hw)\.[a-z_.]+)=", text)
    keys += re.findall(r"`((?:model|hw)\.[a-z_]+(?:\.[a-z_]+)*)(?:=[^`]*)?`", text)
    return [f"no setting {k}" for k in sorted(set(keys))
            if k not in NOT_SETTINGS and not field_exists(k)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_quoted_commands_exist(doc):
    text = doc.read_text(encoding="utf-8")
    problems = [f"{c[:80]!r}: {p}" for c in quoted_commands(text)
                for p in option_problems(c.replace("eval/run", "eval"))]
    problems += setting_problems(text)
    assert not problems, f"{doc.name}: " + "; ".join(problems)


def test_the_readme_is_checked():
    """The extraction finds the README's commands (a pattern that matched nothing would pass)."""
    commands = quoted_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) > 200
    assert any(c.startswith("azsim run") for c in commands)


def test_a_stale_command_is_caught():
    assert option_problems("azsim run --model tiny --bitz 4") == ["no option --bitz"]
    assert option_problems("azsim results export x.sqlite --csv|--jsn -o f") == [
        "no option --jsn"]
    assert option_problems("azsim runn") == ["no subcommand ['runn']"]
    assert setting_problems("`azsim run --set hw.pe_cnt=4`") == ["no setting hw.pe_cnt"]
    assert setting_problems("`model.decode.beam=8` and `hw.pe_count`") == []
    assert not field_exists("model.decode.bream")


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation other than - and _ dropped,
    spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(text: str) -> list[str]:
    """The Markdown headings of ``text``: ``#`` lines outside fenced code blocks (a shell or
    TOML comment in a block is no heading, and a link to it resolves to nothing)."""
    found, fence = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#+ ", line):
            found.append(line.split(" ", 1)[1])
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_section_links_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    anchors = {github_anchor(h) for h in headings(text)}
    missing = sorted({a for a in re.findall(r"\]\(#([^)]+)\)", text) if a not in anchors})
    assert not missing, f"{doc.name}: links to no heading: {missing}"


def test_github_anchor():
    assert github_anchor("Where the issues' goals stand (2026-12-07)") == (
        "where-the-issues-goals-stand-2026-12-07")
    assert github_anchor("What `azsim run` prints") == "what-azsim-run-prints"


def test_a_comment_in_a_code_block_is_no_heading():
    text = "# Title\n\n```bash\n# a shell comment\nazsim run\n```\n## Next\n"
    assert headings(text) == ["Title", "Next"]
