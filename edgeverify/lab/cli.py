"""`edgeverify lab ...` / `python -m edgeverify.lab ...`: run a command against a local edge, or keep one up."""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
from types import FrameType

from .faults import FAULTS, validate
from ..errors import LabError
from .lab import Lab


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeverify lab", description="A local edge that behaves like CloudFront.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "start the lab and one edge, run CMD with its environment, stop"),
                            ("up", "start the lab and one edge, print its environment, wait for Ctrl-C")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--faults", default="", help="comma-separated fault names (see `faults`)")
        command.add_argument("--old-release-for", type=float, default=None, metavar="SECONDS",
                             help="serve the old release for SECONDS after start (inf: forever)")
        if name == "run":
            command.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    commands.add_parser("faults", help="list the faults with what each imitates")
    return parser


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the lab through the same path as Ctrl-C


CHILD_GRACE_S = 30.0  # an interrupted command gets this long to write its reports before it is killed


def _run_child(cmd: list[str], env: dict[str, str]) -> int:
    """Run CMD; on Ctrl-C or SIGTERM pass the signal on and wait for it to finish (its reports), then stop."""
    child = subprocess.Popen(cmd, env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)  # pytest writes its reports on SIGINT
        try:
            return child.wait(timeout=CHILD_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            return 130
        except KeyboardInterrupt:  # a second Ctrl-C: stop now
            child.kill()
            child.wait()
            return 130


def main(argv: list[str]) -> int:
    """Entry point; returns the exit code (CMD's own for `run`)."""
    args = _parser().parse_args(argv)
    if args.command == "faults":
        width = max(map(len, FAULTS))
        for name, description in FAULTS.items():
            print(f"{name:<{width}}  {description}")
        return 0
    cmd: list[str] = list(getattr(args, "cmd", []))
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if args.command == "run" and not cmd:
        print("edgeverify lab run: give a command after --", file=sys.stderr)
        return 2
    try:
        faults = validate(args.faults.split(","))
    except ValueError as exc:
        print(f"edgeverify lab: {exc}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with Lab() as lab:
            edge = lab.edge(faults=faults, old_release_for=args.old_release_for)
            if args.command == "run":
                return _run_child(cmd, {**os.environ, **edge.env()})
            for name, value in edge.env().items():
                print(f"export {name}={shlex.quote(value)}", flush=True)
            print("# lab is up; Ctrl-C to stop", file=sys.stderr, flush=True)
            signal.pause()
            return 0
    except LabError as exc:
        print(f"edgeverify lab: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the normal way to stop `up`; an interrupted `run` is 130 as in shells
        return 0 if args.command == "up" else 130
    finally:
        signal.signal(signal.SIGTERM, previous)
