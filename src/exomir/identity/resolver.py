"""Resolve miRNA names to miRBase mature accessions (MIMAT), with a status that says how sure.

Statuses:

* ``exact``: a current name (or accession) of the loaded release.
* ``alias``: an older name; ``note`` says in which releases it was used. Also used, with the
  caveat in ``note``, for a precursor (hairpin) name or an arm-less name that has a single mature
  product, and for a mature sequence given instead of a name.
* ``ambiguous``: several candidates, listed in ``candidates`` (``MIMAT…:name;…``): an arm-less name
  whose two arms both exist and that no release used, a precursor with two products, a copy
  number left out (``miR-92a-5p``), a slashed group (``miR-23a/b``), a name that the history gives
  to several accessions.
* ``unknown``: nothing matches; ``note`` suggests the closest names.

Order of reading a name: a current name, then a name of an earlier release; an arm-less name
that is a hairpin's name (``miR-92a-1``, ``let-7a-2``) is read as that hairpin before guessing an
arm; then star, arm-less and copy-less matches; then renamed precursors. Lower-case ``mir``
(and HGNC ``MIR21``) is read as a hairpin first. ``level="precursor"`` or ``"mature"`` overrides
what the case says, for data whose level is known.

Lookups go through dictionaries of normalized keys (:attr:`ParsedName.key`) built once per
release, and every answer is memoized by input text, so resolving a table of thousands of names
costs little more than a dictionary lookup per name.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

import pandas as pd

from exomir.identity.names import DEFAULT_SPECIES, ParsedName, parse_name
from exomir.identity.release import MirBase

SUGGESTION_POOL = 200
MEMO_LIMIT = 2_000_000
LEVELS = ("auto", "mature", "precursor")
COLUMNS = ["input", "mimat", "name", "status", "candidates", "note", "kind", "precursor", "sequence"]


class Resolution(NamedTuple):
    """One resolved name (a row of :func:`resolve`'s table without ``input``)."""

    mimat: str
    name: str
    status: str
    candidates: str
    note: str
    kind: str
    precursor: str
    sequence: str


class Resolver:
    """Name → accession index of one miRBase release; use :func:`exomir.identity.mirbase.resolve` or :meth:`resolve_one`."""

    def __init__(self, mirbase: MirBase) -> None:
        self.mirbase = mirbase
        self.release = mirbase.release
        self._memo: dict[str, dict[str, Resolution]] = {}
        self._by_token: dict[tuple, Resolution] = {}
        self._build()

    # ---------------------------------------------------------------- index
    def _build(self) -> None:
        mb = self.mirbase
        self.name_of: dict[str, str] = dict(zip(mb.all_mature["mimat"], mb.all_mature["name"]))
        self.name_of.update(zip(mb.mature["mimat"], mb.mature["name"]))
        self.sequence_of: dict[str, str] = dict(zip(mb.all_mature["mimat"], mb.all_mature["sequence"]))
        self.sequence_of.update(zip(mb.mature["mimat"], mb.mature["sequence"]))

        self.by_sequence: dict[str, list[str]] = defaultdict(list)
        for mimat, sequence in self.sequence_of.items():
            self.by_sequence[sequence].append(mimat)
        self.by_key: dict[str, list[str]] = defaultdict(list)
        self.by_base: dict[str, list[str]] = defaultdict(list)  # arm removed
        self.by_copyless: dict[str, list[str]] = defaultdict(list)  # copy number removed
        self.by_stem: dict[str, list[str]] = defaultdict(list)  # arm and copy removed
        for mimat, name in self.name_of.items():
            parsed = parse_name(name)
            _add(self.by_key, parsed.key, mimat)
            if parsed.status != "name":
                continue
            if parsed.arm:
                _add(self.by_base, parsed.base_key, mimat)
            if parsed.copy:
                _add(self.by_copyless, parsed.copyless_key, mimat)
            stem = _stem_key(parsed)
            if stem != parsed.key:
                _add(self.by_stem, stem, mimat)

        # history: key → {mimat: [releases]} (names an accession had in earlier releases)
        self.release_order: list[str] = list(dict.fromkeys(mb.history["release"].tolist()))
        self.history: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self.minor_arm: set[str] = set()
        for mimat, name, release in mb.history[["mimat", "name", "release"]].itertuples(index=False):
            key = parse_name(name).key
            releases = self.history[key][mimat]
            if release not in releases:
                releases.append(release)
            if name.endswith("*"):
                self.minor_arm.add(mimat)
        self.history = {k: dict(v) for k, v in self.history.items()}
        rank = {r: i for i, r in enumerate(self.release_order)}
        self.first_seen: dict[str, int] = {}
        for mimat, release in mb.history[["mimat", "release"]].itertuples(index=False):
            here = rank.get(release, len(rank))
            if here < self.first_seen.get(mimat, len(rank) + 1):
                self.first_seen[mimat] = here

        # precursors (hairpins) and their mature products
        self.hairpin_name: dict[str, str] = dict(zip(mb.hairpin["mi"], mb.hairpin["name"]))
        self.hairpin_by_key: dict[str, list[str]] = defaultdict(list)
        for mi, name in self.hairpin_name.items():
            _add(self.hairpin_by_key, parse_name(name).key, mi)
        self.products_of: dict[str, list[str]] = defaultdict(list)
        for mi, precursor, mimat in mb.products[["mi", "precursor", "mimat"]].itertuples(index=False):
            _add(self.products_of, mi, mimat)
            if mi not in self.hairpin_name and precursor:  # a gff3 or miRNA.dat without hairpin.fa
                self.hairpin_name[mi] = precursor
                _add(self.hairpin_by_key, parse_name(precursor).key, mi)
        self.hairpin_by_copyless: dict[str, list[str]] = defaultdict(list)
        for mi, name in self.hairpin_name.items():
            parsed = parse_name(name)
            if parsed.status == "name" and parsed.copy:
                _add(self.hairpin_by_copyless, parsed.copyless_key, mi)
        self.precursors_of: dict[str, list[str]] = defaultdict(list)
        for mi, mimats in self.products_of.items():
            for mimat in mimats:
                _add(self.precursors_of, mimat, mi)

        # suggestions for unknown names come from human names whose number shares the longest
        # leading digits (index: every prefix of the number; "$" marks the whole number)
        self._pool = sorted(set(mb.mature["name"]) | set(mb.hairpin["name"]))
        self._pool_by_prefix: dict[str, list[str]] = defaultdict(list)
        for name in self._pool:
            found = re.search(r"\d+", name)
            if found:
                digits = found.group(0)
                for end in range(1, len(digits) + 1):
                    self._pool_by_prefix[digits[:end] + ("" if end < len(digits) else "$")].append(name)

    # ---------------------------------------------------------------- public
    def resolve_one(self, text: object, level: str = "auto") -> Resolution:
        """Resolve one name (memoized on the text); ``level`` as in :func:`resolve`."""
        memo = self._memo.get(level)
        if memo is None:
            if level not in LEVELS:
                raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
            memo = self._memo[level] = {}
        elif len(memo) > MEMO_LIMIT:  # a stream of distinct names must not grow memory without bound
            memo.clear()
            self._by_token.clear()
        if isinstance(text, str):
            hit = memo.get(text)
            if hit is None:
                parsed = _at_level(parse_name(text), level)
                if parsed.status == "group":
                    hit = self._resolve(parsed, level)
                else:
                    # many written forms share one key (exo-miR-21, hsa-miR-21, miR 21)
                    # (an accession with a name beside it is checked against that name: by text)
                    token = (level, parsed.status, parsed.kind, parsed.text if parsed.status == "accession" else parsed.key)
                    hit = self._by_token.get(token)
                    if hit is None:
                        hit = self._resolve(parsed, level)
                        self._by_token[token] = hit
                memo[text] = hit
            return hit
        return self._resolve(_at_level(parse_name(text), level), level)

    def resolve(self, names: Iterable[object], level: str = "auto") -> pd.DataFrame:
        """One row per input, in input order (see :func:`resolve`)."""
        inputs = list(names)
        one = self.resolve_one
        rows = [one(text, level) for text in inputs]
        frame = pd.DataFrame.from_records(rows, columns=Resolution._fields) if rows else pd.DataFrame(
            columns=Resolution._fields
        )
        frame.insert(0, "input", ["" if t is None else str(t) for t in inputs])
        return frame[COLUMNS]

    # ---------------------------------------------------------------- resolution
    def _resolve(self, parsed: ParsedName, level: str = "auto") -> Resolution:
        status = parsed.status
        if status == "empty":
            return _unknown("empty name")
        if status == "accession":
            return self._accession(parsed)
        if status == "sequence":
            return self._sequence(parsed.key)
        if status == "group":
            return self._group(parsed, level)
        plain = status == "name" and not parsed.arm and not parsed.star
        if parsed.kind == "precursor" and plain:
            # lower-case mir / HGNC symbol: a hairpin, unless no hairpin carries the name
            found = self._precursor_by_key(parsed.key) or self._precursor_fallback(parsed)
            if found:
                return found
            found = self._mature_exact(parsed) or self._mature_partial(parsed)
            if found:
                return found._replace(note=_join(found.note, "lower-case 'mir' read as a mature name: no hairpin has this name"))
            return self._unknown(parsed)
        found = self._mature_exact(parsed)
        if found:
            return found
        if plain:
            # miR-92a-1, let-7a-2: the name of a hairpin beats guessing an arm
            found = self._precursor_by_key(parsed.key)
            if found:
                return found
        found = self._mature_partial(parsed)
        if found:
            return found
        if plain:
            found = self._precursor_fallback(parsed)
            if found:
                return found
        return self._unknown(parsed)

    def _mature_exact(self, parsed: ParsedName) -> Resolution | None:
        """A current name, or a name of an earlier release."""
        key = parsed.key
        hits = self.by_key.get(key)
        if hits:
            if len(hits) == 1:
                res = self._hit(hits[0], "exact", self._former_note(key, hits[0]))
                others = [m for m in self.history.get(key, {}) if m != hits[0] and m in self.name_of] if res.note else []
                if others:
                    # the current name once named another accession: say so, listing it
                    res = res._replace(candidates=";".join(f"{m}:{self.name_of[m]}" for m in [hits[0], *others]))
                return res
            return self._ambiguous(hits, "name shared by several accessions")
        return self._from_history(key)

    def _mature_partial(self, parsed: ParsedName) -> Resolution | None:
        """Star, arm or copy number not as in the release: match on the rest of the name."""
        if parsed.status != "name":
            return None
        key = parsed.key
        if parsed.star:
            arms = self.by_base.get(parsed.base_key, [])
            if arms:
                minors = [m for m in arms if m in self.minor_arm] or arms
                if len(minors) == 1 and len(arms) > 1:
                    return self._hit(minors[0], "alias", "star (minor arm) form: the arm once named with '*'")
                return self._ambiguous(arms, "star (minor arm) form not in the name history")
            return None
        if not parsed.arm:
            arms = list(self.by_base.get(key, []))
            if not parsed.copy:
                arms += [m for m in self.by_stem.get(_stem_key(parsed), []) if m not in arms]
            if len(arms) == 1:
                return self._hit(
                    arms[0], "alias", f"arm-less name: {self.name_of[arms[0]]} is its only product in release {self.release}"
                )
            if arms:
                return self._ambiguous(
                    arms, f"arm-less name: several products exist in release {self.release} and no release used this name"
                )
            return None
        if not parsed.copy:
            copies = self.by_copyless.get(parsed.copyless_key)
            if copies:
                if len(copies) == 1:
                    return self._hit(copies[0], "alias", "copy number left out; a single product matches")
                return self._ambiguous(copies, "copy number left out: products of several precursor copies")
        return None

    def _from_history(self, key: str) -> Resolution | None:
        owners = self.history.get(key)
        if not owners:
            return None
        if len(owners) == 1:
            mimat, releases = next(iter(owners.items()))
            if mimat not in self.name_of:
                return None
            return self._hit(mimat, "alias", self._releases_note(releases))
        ranked = sorted(owners.items(), key=lambda item: -max(self._release_rank(r) for r in item[1]))
        detail = "; ".join(f"{m}: {self._releases_note(r)}" for m, r in ranked)
        return self._ambiguous([m for m, _ in ranked if m in self.name_of], f"older name of several accessions ({detail})")

    def _sequence(self, sequence: str) -> Resolution:
        """A mature sequence: human products first, other species only when no human one matches."""
        hits = self.by_sequence.get(sequence, [])
        human = [m for m in hits if self.name_of[m].startswith(f"{DEFAULT_SPECIES}-")]
        hits = human or hits
        if len(hits) == 1:
            return self._hit(hits[0], "alias", f"matched by its mature sequence (release {self.release})")
        if hits:
            return self._ambiguous(hits, "several mature miRNAs have this sequence")
        return _unknown(f"no mature miRNA of release {self.release} has this sequence", kind="mature")

    def _accession(self, parsed: ParsedName) -> Resolution:
        acc = parsed.accession or ""
        if acc.startswith("MIMAT"):
            if acc in self.name_of:
                return self._hit(acc, "exact", self._embedded_check(parsed.text, acc))
            return _unknown(f"accession {acc} is not in miRBase release {self.release}", kind="mature")
        found = self._precursor(acc)
        if found:
            return found
        return _unknown(f"accession {acc} is not a precursor of miRBase release {self.release}", kind="precursor")

    def _embedded_check(self, text: str, accession: str) -> str:
        """``hsa-miR-16-5p_MIMAT0000069``: say so when the name beside the accession disagrees."""
        rest = re.sub(accession, " ", text, flags=re.IGNORECASE).strip(" _-()[]|:;,\t")
        if not rest or rest.upper() == accession:
            return ""
        other = self.resolve_one(rest)
        if other.status == "unknown" or other.mimat == accession or f"{accession}:" in other.candidates:
            return ""
        said = other.name or other.candidates
        return f"accession taken; the name beside it, {rest!r}, reads as {said} ({other.status})"

    def _precursor_by_key(self, key: str) -> Resolution | None:
        mis = self.hairpin_by_key.get(key)
        if not mis:
            return None
        if len(mis) == 1:
            return self._precursor(mis[0])
        products = [m for mi in mis for m in self.products_of.get(mi, [])]
        res = self._ambiguous(list(dict.fromkeys(products)), "precursor name shared by several hairpins")
        return res._replace(kind="precursor", precursor=";".join(mis))

    def _precursor_fallback(self, parsed: ParsedName) -> Resolution | None:
        """A precursor name not in this release: copy number left out or added, or renamed since."""
        if parsed.status != "name" or parsed.arm or parsed.star:
            return None
        if not parsed.copy:
            copies = self.hairpin_by_copyless.get(parsed.copyless_key, [])
            if copies:
                names = ", ".join(self.hairpin_name[mi] for mi in copies)
                return self._precursors(copies, f"precursor copies {names} (copy number left out)")
        else:
            plain = self.hairpin_by_key.get(parsed.copyless_key, [])
            if len(plain) == 1 and not self.hairpin_by_copyless.get(parsed.copyless_key):
                found = self._precursor(plain[0])
                if found:
                    return found._replace(
                        note=_join(found.note, f"copy number -{parsed.copy} not in release {self.release}")
                    )
        # renamed precursor (hsa-mir-103-1 → hsa-mir-103a-1, hsa-mir-1245 → hsa-mir-1245a): the
        # mature names history gives the product; its current precursor must carry the old
        # number plus a letter and the same copy number (so hsa-mir-189, a mature-only name, is not
        # taken for hsa-mir-24-1)
        owners = self.history.get(_stem_key(parsed))
        if not owners:
            return None
        mis = []
        for mi in dict.fromkeys(mi for mimat in owners for mi in self.precursors_of.get(mimat, [])):
            now = parse_name(self.hairpin_name[mi])
            suffix = (now.number or "")[len(parsed.number or ""):]
            if now.number.startswith(parsed.number) and suffix.isalpha() and now.copy == parsed.copy:
                mis.append(mi)
        if not mis:
            return None
        old = ", ".join(self.name_of[m] for m in owners if m in self.name_of)
        names = ", ".join(self.hairpin_name[mi] for mi in mis)
        return self._precursors(mis, f"older precursor name, now {names} (inferred from the names history of {old})")

    def _precursors(self, mis: list[str], note: str) -> Resolution | None:
        if len(mis) == 1:
            found = self._precursor(mis[0])
            return found._replace(note=_join(note, found.note)) if found else None
        products = list(dict.fromkeys(m for mi in mis for m in self.products_of.get(mi, [])))
        if not products:
            return None
        if len(products) == 1:
            res = self._hit(products[0], "alias", _join(note, "their only mature product; precursor-level values"))
        else:
            ordered = sorted(products, key=self._major_first)
            res = self._ambiguous(ordered, _join(note, f"{len(products)} mature products"))
        return res._replace(kind="precursor", precursor=";".join(mis))

    def _precursor(self, mi: str) -> Resolution | None:
        if mi not in self.hairpin_name:
            return None
        name = self.hairpin_name[mi]
        products = self.products_of.get(mi, [])
        where = f"precursor {name} ({mi})"
        if not products:
            return Resolution("", "", "unknown", "", f"{where} has no mature product in release {self.release}",
                              "precursor", mi, "")
        if len(products) == 1:
            res = self._hit(products[0], "alias", f"{where}: its only mature product; precursor-level values")
            return res._replace(kind="precursor", precursor=mi)
        ordered = sorted(products, key=self._major_first)
        res = self._ambiguous(
            ordered, f"{where} has {len(products)} mature products"
            + "; the arm named first in miRBase (never with '*') is listed first"
        )
        return res._replace(kind="precursor", precursor=mi)

    def _group(self, parsed: ParsedName, level: str = "auto") -> Resolution:
        parts = [(member, self.resolve_one(member, level)) for member in parsed.members]
        candidates: list[str] = []
        described = []
        for member, res in parts:
            if res.mimat:
                candidates.append(f"{res.mimat}:{res.name}")
                described.append(f"{member} → {res.name} ({res.status})")
            elif res.candidates:
                candidates.extend(res.candidates.split(";"))
                described.append(f"{member} → {res.status}")
            else:
                described.append(f"{member} → unknown")
        candidates = list(dict.fromkeys(candidates))
        return Resolution("", "", "ambiguous" if candidates else "unknown", ";".join(candidates),
                          f"group of {len(parts)}: " + "; ".join(described), "group", "", "")

    # ---------------------------------------------------------------- helpers
    def _major_first(self, mimat: str) -> tuple:
        """Products of one precursor: the arm never named with '*' and named earliest comes first."""
        return (mimat in self.minor_arm, self.first_seen.get(mimat, 10**6), self.name_of.get(mimat, mimat))

    def _hit(self, mimat: str, status: str, note: str) -> Resolution:
        return Resolution(mimat, self.name_of.get(mimat, ""), status, "", note, "mature", "",
                          self.sequence_of.get(mimat, ""))

    def _ambiguous(self, mimats: list[str], note: str) -> Resolution:
        listed = ";".join(f"{m}:{self.name_of.get(m, '')}" for m in mimats)
        return Resolution("", "", "ambiguous", listed, note, "mature", "", "")

    def _former_note(self, key: str, mimat: str) -> str:
        owners = self.history.get(key)
        if not owners or len(owners) == 1 and mimat in owners:
            return ""
        others = {m: r for m, r in owners.items() if m != mimat}
        if not others:
            return ""
        return "; ".join(
            f"also the name of {m} ({self.name_of.get(m, 'not in this release')}) in {self._releases_note(r, bare=True)}"
            for m, r in others.items()
        )

    def _release_rank(self, release: str) -> int:
        try:
            return self.release_order.index(release)
        except ValueError:
            return -1

    def _releases_note(self, releases: list[str], bare: bool = False) -> str:
        known = [r for r in releases if r]
        if not known:
            return f"a former name (miRBase {self.release} aliases)"
        ranks = sorted(self._release_rank(r) for r in known)
        spans: list[tuple[int, int]] = []
        for rank in ranks:
            if spans and rank == spans[-1][1] + 1:
                spans[-1] = (spans[-1][0], rank)
            else:
                spans.append((rank, rank))
        order = self.release_order
        text = ", ".join(order[a] if a == b else f"{order[a]}-{order[b]}" for a, b in spans)
        plural = "s" if len(ranks) > 1 else ""
        return f"release{plural} {text}" if bare else f"name in miRBase release{plural} {text}"

    def _suggestion_pool(self, target: str) -> list[str]:
        """Names with the same number, else the longest shared leading digits (a bounded pool,
        so that a table full of unknown names stays fast)."""
        found = re.search(r"\d+", target)
        if not found:
            return []
        digits = found.group(0)
        pool = self._pool_by_prefix.get(digits + "$")
        if pool:
            return pool
        for end in range(len(digits), 0, -1):
            pool = self._pool_by_prefix.get(digits[:end])
            if pool:
                return pool[:SUGGESTION_POOL]
        return []

    def _unknown(self, parsed: ParsedName) -> Resolution:
        if parsed.status == "unparsed" and not re.search(r"\d", parsed.text):
            return _unknown("not a miRNA name")
        target = parsed.canonical or parsed.text
        close = difflib.get_close_matches(target, self._suggestion_pool(target), n=3, cutoff=0.6)
        note = f"not in miRBase release {self.release}"
        if close:
            note += "; closest: " + ", ".join(close)
        return _unknown(note)


def _at_level(parsed: ParsedName, level: str) -> ParsedName:
    """Override what the case of the text says when the caller knows the level of the data."""
    if level == "auto" or parsed.status != "name" or parsed.arm or parsed.star:
        return parsed
    return parsed._replace(kind=level)


def _unknown(note: str, kind: str = "") -> Resolution:
    return Resolution("", "", "unknown", "", note, kind, "", "")


def _add(index: dict[str, list[str]], key: str, value: str) -> None:
    bucket = index[key]
    if value not in bucket:
        bucket.append(value)


def _stem_key(parsed: ParsedName) -> str:
    if parsed.status != "name":
        return parsed.key
    return "-".join([parsed.species or "", parsed.family or "", parsed.number or ""]).lower()


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)
