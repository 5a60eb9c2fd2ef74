"""CI recipes shipped with edgeverify: GitHub Actions workflows and a laptop recipe, printed by `edgeverify recipe`."""

from __future__ import annotations

import difflib
import re
import sys
from importlib.resources import files
from typing import Any

import yaml

from ..errors import TargetError

SUFFIXES = (".yml", ".md")
_SHELL_VAR = re.compile(r"\$(?!\{\{)")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def names() -> list[str]:
    """The shipped recipes, by file name."""
    return sorted(p.name for p in files(__name__).iterdir() if p.name.endswith(SUFFIXES))


def _resolve(name: str) -> str:
    available = names()
    for candidate in (name, *(name + s for s in SUFFIXES)):
        if candidate in available:
            return candidate
    close = [n for n in available if name and name.lower() in n.lower()] or difflib.get_close_matches(
        name, available + [n.rsplit(".", 1)[0] for n in available], n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise TargetError(f"no recipe named {name!r}.{hint} Recipes: {', '.join(available)}")


def read(name: str) -> str:
    """The text of one recipe (the name with or without its extension)."""
    return files(__name__).joinpath(_resolve(name)).read_text(encoding="utf-8")


def describe(name: str) -> str:
    """The recipe's first comment or heading line."""
    for line in read(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def _shell_lines(script: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def run_steps(name: str) -> list[dict[str, Any]]:
    """Every step of a workflow recipe, with its job's name under the key `job`."""
    doc = yaml.safe_load(read(name))
    steps = []
    for job_name, job in (doc.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            steps.append({"job": job_name, **step})
    return steps


def recipe_commands(name: str) -> list[str]:
    """The edgeverify command lines a recipe runs, in order, as written (GitHub `${{ }}` expressions kept).

    Workflows: the `run:` scripts of every step; Markdown: the ```sh blocks. Lines that use a shell
    variable (the body of a hook's loop) are left out: they only run inside their script.
    """
    resolved = _resolve(name)
    scripts: list[str] = []
    if resolved.endswith(".yml"):
        scripts = [str(step["run"]) for step in run_steps(resolved) if "run" in step]
    else:
        for lang, body in _FENCE.findall(read(resolved)):
            if lang in ("sh", "bash", "shell"):
                scripts.append(body)
    found = []
    for script in scripts:
        for line in _shell_lines(script):
            for piece in re.split(r"\s*(?:&&|\|\||;)\s*", line):
                if piece.startswith("edgeverify ") and not _SHELL_VAR.search(piece):
                    found.append(piece)
    return found


def recipe_command(name: str | None) -> int:
    """`edgeverify recipe [NAME]`: list the recipes, or print one."""
    if name is None:
        width = max(map(len, names()))
        for recipe in names():
            print(f"{recipe:<{width}}  {describe(recipe)}")
        print("\nedgeverify recipe NAME prints one; copy a workflow to .github/workflows/.", file=sys.stderr)
        return 0
    sys.stdout.write(read(name))
    return 0
