"""The `edgeverify` command: lab, rules, signatures, check-target, and the AWS helpers (discover, wait)."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import EdgeverifyError
from .model import ExitCode


def main(argv: list[str] | None = None) -> int:
    from .front import UsageError

    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:  # a bad option or argument: exit 4 (bad input), naming the command used
        print(str(exc), file=sys.stderr)
        return int(ExitCode.USAGE)
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
    from .front import Parser

    parser = Parser(prog="edgeverify", description="Verify a CloudFront + S3 + API Gateway domain. "
                                     "Checks run with pytest: pytest --target FILE [-n 4] [-m SUITE].")
    _add_version(parser)
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
    rules.add_argument("--json", action="store_true", help="as JSON: a list of rules with every field")
    signatures = sub.add_parser("signatures", help="list the error signatures diagnosis recognises, in matching order")
    signatures.add_argument("--markdown", action="store_true", help="as a Markdown table")
    signatures.add_argument("--json", action="store_true", help="as JSON: a list of signatures in matching order")
    check = sub.add_parser("check-target", help="validate target files and exit (4 on the first bad one; every one said)")
    check.add_argument("files", nargs="+", metavar="FILE")
    merge = sub.add_parser("merge", help="merge the shards' edgeverify.json reports into one summary (Markdown, HTML)")
    merge.add_argument("inputs", nargs="+", metavar="DIR_OR_JSON", help="shard report folders or edgeverify.json files")
    merge.add_argument("-o", "--output", default="reports", metavar="OUTDIR", help="where to write (default reports)")
    shard = sub.add_parser("shard", help="print the target files that shard K of N verifies (deterministic)")
    shard.add_argument("spec", metavar="K/N")
    shard.add_argument("paths", nargs="+", metavar="TARGET")
    schema = sub.add_parser("schema", help="print a JSON Schema: report (edgeverify.json) or target (the target "
                            "YAML file, for editor completion)")
    schema.add_argument("kind", choices=["report", "target"])
    _add_init(sub)
    recipe = sub.add_parser("recipe", help="list the CI recipes shipped with edgeverify, or print one")
    recipe.add_argument("name", nargs="?")
    args = parser.parse_args(argv)
    try:
        if args.command == "rules":
            return _rules_json() if args.json else _rules(args.markdown)
        if args.command == "signatures" and args.json:
            return _signatures_json()
        if args.command == "init":
            return _init(args)
        if args.command == "signatures":
            from .diagnose import signature_table

            print(signature_table(args.markdown))
            return 0
        if args.command == "check-target":
            return _check_targets(args.files)
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
            from .target_schema import target_schema

            print(json.dumps(report_schema() if args.kind == "report" else target_schema(), indent=2))
            return 0
        if args.command == "recipe":
            from .recipes import recipe_command

            return recipe_command(args.name)
    except EdgeverifyError as exc:
        print(f"edgeverify: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    parser.error(f"unknown command {args.command}")
    return int(ExitCode.USAGE)


def _check_targets(files: list[str]) -> int:
    """`check-target FILE...` (several: a pre-commit hook's staged files): every file said, 4 if any is bad."""
    from .target import load_target

    status = 0
    for name in files:
        try:
            target = load_target(name)
        except EdgeverifyError as exc:
            print(f"edgeverify: {exc}", file=sys.stderr)
            status = int(ExitCode.USAGE)
            continue
        print(f"{name}: valid target for {target.domain} (run deadline {target.run_deadline_s():g} s)")
    return status


def _add_version(parser: argparse.ArgumentParser) -> None:
    from .reports import tool_version

    parser.add_argument("--version", action="version", version=tool_version())


def _rules_json() -> int:
    import dataclasses
    import json

    from .rules import RULES, load_all

    load_all()
    print(json.dumps([dataclasses.asdict(r) for r in RULES.values()], indent=2))
    return 0


def _signatures_json() -> int:
    import json

    from .diagnose import SIGNATURES, _generic

    print(json.dumps([{"order": n, "id": s.id, "service": s.service, "recognises": s.recognises,
                       "cause": _generic(s.cause), "setting": _generic(s.setting), "confidence": s.confidence,
                       "statuses": sorted(s.statuses), "methods": sorted(s.methods)}
                      for n, s in enumerate(SIGNATURES, 1)], indent=2))
    return 0


def _add_init(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser("init", help="write a starter target file for DOMAIN (with the schema line editors read)")
    init.add_argument("domain", metavar="DOMAIN", help="the domain CloudFront serves, e.g. www.example.com")
    init.add_argument("-o", "--output", metavar="FILE", help="where to write (default: targets/<domain>.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def _init(args: argparse.Namespace) -> int:
    from .target_schema import write_starter

    path = write_starter(args.domain, args.output, force=args.force)
    print(f"edgeverify init: wrote {path} (and {path.parent / 'edgeverify-target.schema.json'}); "
          f"check it with: edgeverify check-target {path}")
    return 0


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
