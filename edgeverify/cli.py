"""The `edgeverify` command: lab, rules, signatures, check-target, and the AWS helpers (discover, wait)."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import EdgeverifyError
from .model import ExitCode


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:  # `edgeverify rules | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")
        return 0


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "lab":  # the lab has its own parser (it runs a command after --)
        from .lab.cli import main as lab_main

        return lab_main(argv[1:])
    if argv and argv[0] == "run":  # the front door: its own parser, pytest arguments after --
        from .front import main as run_main

        return run_main(argv[1:])
    if argv and argv[0] in ("discover", "wait"):  # own parsers, like lab
        from .aws import discover, wait

        return (discover.main if argv[0] == "discover" else wait.main)(argv[1:])
    if argv and argv[0] == "audit":  # the config rules on templates, before the deploy: its own parser
        from .template.cli import main as audit_main

        return audit_main(argv[1:])
    if argv and argv[0] == "history":
        from .history.cli import main as history_main

        return history_main(argv[1:])
    parser = argparse.ArgumentParser(prog="edgeverify", description="Verify a CloudFront + S3 + API Gateway domain. "
                                     "Checks run with pytest: pytest --target FILE [-n 4] [-m SUITE].")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run every suite against TARGET... (edgeverify run --help)")
    sub.add_parser("lab", help="start the local edge lab (edgeverify lab --help)")
    sub.add_parser("discover", help="print a target file built from a live distribution (edgeverify discover --help)")
    sub.add_parser("wait", help="wait until the target's distribution is Deployed (edgeverify wait --help)")
    sub.add_parser("history", help="pass rates and convergence times per week from the run history "
                   "(edgeverify history --help)")
    sub.add_parser("audit", help="judge CloudFormation/SAM/cdk synth templates with the config rules before the "
                   "deploy (edgeverify audit --help)")
    rules = sub.add_parser("rules", help="list every rule: id, suite, severity, statement, threshold, source")
    rules.add_argument("--markdown", action="store_true", help="as a Markdown table")
    signatures = sub.add_parser("signatures", help="list the error signatures diagnosis recognises, in matching order")
    signatures.add_argument("--markdown", action="store_true", help="as a Markdown table")
    check = sub.add_parser("check-target", help="validate a target file and exit")
    check.add_argument("file")
    merge = sub.add_parser("merge", help="merge the shards' edgeverify.json reports into one summary (Markdown, HTML)")
    merge.add_argument("inputs", nargs="+", metavar="DIR_OR_JSON", help="shard report folders or edgeverify.json files")
    merge.add_argument("-o", "--output", default="reports", metavar="OUTDIR", help="where to write (default reports)")
    shard = sub.add_parser("shard", help="print the target files that shard K of N verifies (deterministic)")
    shard.add_argument("spec", metavar="K/N")
    shard.add_argument("paths", nargs="+", metavar="TARGET")
    schema = sub.add_parser("schema", help="print the JSON Schema of a file edgeverify writes (report: edgeverify.json)")
    schema.add_argument("kind", choices=["report"])
    recipe = sub.add_parser("recipe", help="list the CI recipes shipped with edgeverify, or print one")
    recipe.add_argument("name", nargs="?")
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "rules":
            return _rules(args.markdown)
        if args.command == "signatures":
            from .diagnose import signature_table

            print(signature_table(args.markdown))
            return 0
        if args.command == "check-target":
            from .target import load_target

            target = load_target(args.file)
            print(f"{args.file}: valid target for {target.domain} (run deadline {target.run_deadline_s():g} s)")
            return 0
        if args.command == "merge":
            from .reports import merge_command

            return merge_command(args.inputs, args.output)
        if args.command == "shard":
            from .fleet import shard as shard_paths

            for path in shard_paths(args.paths, args.spec):
                print(path)
            return 0
        if args.command == "schema":
            import json

            from .reports import report_schema

            print(json.dumps(report_schema(), indent=2))
            return 0
        if args.command == "recipe":
            from .recipes import recipe_command

            return recipe_command(args.name)
    except EdgeverifyError as exc:
        print(f"edgeverify: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    parser.error(f"unknown command {args.command}")
    return 2


def _rules(markdown: bool) -> int:
    from .rules import RULES, load_all

    load_all()
    if markdown:
        print("| id | suite | severity | checks | default threshold | source |")
        print("|---|---|---|---|---|---|")
        for r in RULES.values():
            print(f"| `{r.id}` | {r.suite} | {r.severity} | {r.summary} | {r.threshold or '—'} | {r.source} |")
        return 0
    for r in RULES.values():
        print(f"{r.id}  [{r.suite}, {r.severity}]\n    {r.summary}" + (f"\n    threshold: {r.threshold}" if r.threshold else "")
              + f"\n    source: {r.source}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
