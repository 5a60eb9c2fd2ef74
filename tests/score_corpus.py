"""Scores diagnosis over the corpus of real edge answers (tests/data/corpus): right / wrong / silent on the
training part and on the held-out part, and per class. Figures are printed, not asserted (the corpus test
asserts the floors).

- right: diagnose names the expected signature alone; or, for an entry marked `half` (the response alone
  cannot tell its cause from others), ranked candidates that include the expected one;
- wrong: it names a cause that is not the expected one (alone, or in candidates that leave it out);
- silent: no signature fits (the answer is then reported verbatim: service, error type, AWS page), or
  candidates that include the expected one for an entry that is not `half`.
An entry whose source establishes no cause expects `unknown.<service>`: right when no cause is claimed and the
answer is described as that service's (edgeverify.diagnose.unknown_answer), wrong when a cause is claimed.

The held-out part is chosen by rule, not by hand, and frozen in tests/data/corpus/heldout-ids.txt before
any signature is written for the entries it holds: entries of tests/data/corpus/fresh/ (the older files were
already used to write the signatures), grouped by class (`expect`), ordered by SHA-256 of their id, every
second one (positions 1, 3, 5, ...) held out, so every class keeps training cases. `--choose-split` writes
that file and refuses to overwrite it; `--extend-split fresh/<file>.yaml` applies the same rule to the
entries of a batch collected later (before any signature is written for it) and appends them.

Run: .venv/bin/python tests/score_corpus.py [--choose-split] [--show wrong,silent]
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import sys
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
HELDOUT = CORPUS / "heldout-ids.txt"
FRESH = CORPUS / "fresh"


def load_corpus() -> list[dict]:
    """Every entry of every corpus file (top level and fresh/), with the file it came from."""
    entries = []
    for path in sorted(CORPUS.glob("*.yaml")) + sorted(FRESH.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text()):
            entry["file"] = str(path.relative_to(CORPUS))
            entries.append(entry)
    return entries


def heldout_ids() -> set[str]:
    if not HELDOUT.exists():
        return set()
    return {line.strip() for line in HELDOUT.read_text().splitlines() if line.strip() and not line.startswith("#")}


def choose_split(entries: list[dict], only: str = "fresh/") -> list[str]:
    """The held-out ids by the rule above (stratified by class, ordered by SHA-256 of the id), among the
    entries of files whose path starts with `only`."""
    by_class: dict[str, list[str]] = collections.defaultdict(list)
    for e in entries:
        if e["file"].startswith(only):
            by_class[e["expect"]].append(e["id"])
    chosen = []
    for ids in by_class.values():
        ordered = sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
        chosen += ordered[1::2]
    return sorted(chosen)


def exchange(entry: dict):  # type: ignore[no-untyped-def]
    from edgeverify.exchange import Exchange

    request = entry["request"]
    return Exchange(request["method"], f"https://www.example.test{request['path']}", status=entry["status"],
                    headers=[(name, value) for name, value in entry["headers"]],
                    body=(entry["body"] or "").encode())


def verdict(entry: dict) -> tuple[str, str]:
    """("right" | "wrong" | "silent", what diagnosis named)."""
    from edgeverify.diagnose import diagnose, unknown_answer

    found = diagnose(exchange(entry))
    if found is None:
        described = unknown_answer(exchange(entry))
        if entry["expect"].startswith("unknown.") and described is not None:
            return ("right" if described.signature_id == entry["expect"] else "wrong"), described.signature_id
        return "silent", "-"
    if entry["expect"].startswith("unknown."):
        return "wrong", found.signature_id  # a cause claimed where the source establishes none
    named = found.signature_id.split("|")
    if named == [entry["expect"]]:
        return "right", found.signature_id
    if entry["expect"] in named:
        return ("right" if entry.get("half") else "silent"), found.signature_id
    return "wrong", found.signature_id


def score(entries: list[dict]) -> dict[str, dict[str, list[str]]]:
    """{"train"|"heldout": {"right"|"wrong"|"silent": [ids]}} and per class under "class:<expect>"."""
    held = heldout_ids()
    table: dict[str, dict[str, list[str]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for e in entries:
        outcome, named = verdict(e)
        part = "heldout" if e["id"] in held else "train"
        note = e["id"] if outcome == "right" else f"{e['id']} (expected {e['expect']}, named {named})"
        table[part][outcome].append(note)
        table[f"class:{e['expect']}"][outcome].append(note)
        table[f"class:{e['expect']}"][part].append(e["id"])
    return table


def _line(name: str, row: dict[str, list[str]]) -> str:
    n = sum(len(row[k]) for k in ("right", "wrong", "silent"))
    right = len(row["right"])
    return (f"{name:38} {n:4} {right:6} {len(row['wrong']):6} {len(row['silent']):7}  "
            f"{(right / n if n else 0):6.1%}")


def report(entries: list[dict], show: set[str]) -> str:
    table = score(entries)
    classes = sorted(k for k in table if k.startswith("class:"))
    out = [f"corpus: {len(entries)} real responses in {len(classes)} classes; held out: "
           f"{len(heldout_ids())} (tests/data/corpus/heldout-ids.txt)",
           f"{'part':38} {'n':>4} {'right':>6} {'wrong':>6} {'silent':>7}  {'right%':>6}"]
    for part in ("train", "heldout"):
        out.append(_line(part, table[part]))
    out.append("")
    out.append(f"{'class':38} {'n':>4} {'right':>6} {'wrong':>6} {'silent':>7}  {'right%':>6}  train/held")
    for k in classes:
        out.append(_line(k[len("class:"):], table[k]) + f"  {len(table[k]['train'])}/{len(table[k]['heldout'])}")
    for kind in ("wrong", "silent"):
        if kind in show:
            for part in ("train", "heldout"):
                for note in table[part][kind]:
                    out.append(f"{kind} ({part}): {note}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choose-split", action="store_true", help="write heldout-ids.txt (once)")
    parser.add_argument("--extend-split", metavar="FILE", help="apply the rule to a new batch (fresh/<file>.yaml)")
    parser.add_argument("--show", default="wrong,silent", help="list these outcomes by id (wrong,silent)")
    args = parser.parse_args(argv)
    entries = load_corpus()
    if args.choose_split:
        if HELDOUT.exists():
            print(f"{HELDOUT} exists: the split is frozen", file=sys.stderr)
            return 1
        ids = choose_split(entries)
        HELDOUT.write_text("# held out of signature writing; chosen by tests/score_corpus.py --choose-split "
                           "(fresh/ entries, by class, every second by SHA-256 of the id)\n" + "\n".join(ids) + "\n")
        print(f"{len(ids)} held out of {sum(e['file'].startswith('fresh/') for e in entries)} fresh entries")
        return 0
    if args.extend_split:
        batch = [e for e in entries if e["file"] == args.extend_split]
        if not batch or {e["id"] for e in batch} & heldout_ids():
            print(f"{args.extend_split}: no entries, or some already split", file=sys.stderr)
            return 1
        ids = choose_split(entries, only=args.extend_split)
        with HELDOUT.open("a") as out:
            out.write(f"# {args.extend_split}: the same rule applied to this batch before tuning on it\n"
                      + "\n".join(ids) + "\n")
        print(f"{len(ids)} held out of {len(batch)} entries of {args.extend_split}")
        return 0
    print(report(entries, {s for s in args.show.split(",") if s}))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
