"""Docs backend: the governors' pack printed to PDF by headless Chromium.

The pack's own CSS gives the page size, the running header and the page numbers (`@page`
margin boxes). Chromium cannot number a contents page itself (no `target-counter`), so the
pack is printed twice: the first print says on which page each section landed (its named
destinations, `pdfdests`), those numbers are written into the contents, and the second print
is the PDF. The contents' number slots have a fixed width, so filling them moves nothing.

A PDF is not byte-for-byte reproducible (Chromium stamps it), so it is not part of
`generated/`'s checked output: `build` writes it to `<out>/pdf/`, which no backend owns, git
ignores and `build --check` never reads. Without Chromium, `build` says how to get one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cme_policy.backends.docs.pdfdests import destinations, page_count
from cme_policy.ir.english import MONTHS

ENGINES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PACK_HTML = Path("docs") / "governors-pack.html"
PACK_PDF = Path("pdf") / "governors-pack.pdf"
HOW_TO_GET = ("install Chromium (Debian or Ubuntu: apt-get install chromium; or set "
              "CME_POLICY_CHROMIUM to a Chrome or Chromium binary) and build again, or open "
              f"{PACK_HTML.as_posix()} in a browser and print it")
TIMEOUT = 180.0

_TOC_SLOT = re.compile(r'<span class="toc-page" data-target="([^"]+)"></span>')
_PRINT_DATE = re.compile(r'<span class="print-date">[^<]*</span>')


@dataclass(frozen=True)
class Printed:
    path: Path | None
    pages: int
    message: str


def find_engine() -> str | None:
    chosen = os.environ.get("CME_POLICY_CHROMIUM")
    if chosen:
        return shutil.which(chosen) or (chosen if Path(chosen).is_file() else None)
    return next((found for name in ENGINES if (found := shutil.which(name))), None)


def print_date() -> dt.date:
    """Today, or SOURCE_DATE_EPOCH's day (the reproducible-builds convention) when set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.date.today()


def date_words(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def stamp(html: str, day: dt.date, pages: dict[str, int] | None = None) -> str:
    """The pack as printed: the print date on the cover, page numbers in the contents."""
    html = _PRINT_DATE.sub(f'<span class="print-date">{date_words(day)}</span>', html, count=1)
    if pages is None:
        return html
    return _TOC_SLOT.sub(lambda m: f'<span class="toc-page" data-target="{m.group(1)}">'
                         f'{pages.get(m.group(1), "")}</span>', html)


def chromium_print(engine: str, html: Path, pdf: Path, profile: Path) -> None:
    """One headless print; raises OSError or CalledProcessError when Chromium fails."""
    args = [engine, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-sync", "--disable-background-networking", "--disable-component-update",
            "--no-pdf-header-footer", "--generate-pdf-document-outline",
            f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.as_uri()]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=TIMEOUT, check=True)
    if not pdf.is_file() or not pdf.read_bytes().startswith(b"%PDF"):
        raise OSError(f"{pdf.name} was not written")


def print_pack(html: Path, pdf: Path, engine: str | None = None,
               day: dt.date | None = None, shown: Path | None = None) -> Printed:
    """Print `html` (the pack) to `pdf` with page numbers and a numbered contents page; the
    message names it `shown` where that is where the user will find it."""
    engine = engine or find_engine()
    if engine is None:
        return Printed(None, 0, f"no PDF of the governors' pack: {HOW_TO_GET}")
    text = html.read_text(encoding="utf-8")
    day = day or print_date()
    with tempfile.TemporaryDirectory(prefix="cme-pdf-") as tmp:
        work = Path(tmp)
        first, final, copy = work / "first.pdf", work / "pack.pdf", work / html.name
        try:
            copy.write_text(stamp(text, day), encoding="utf-8")
            chromium_print(engine, copy, first, work / "profile")
            pages = destinations(first.read_bytes())
            copy.write_text(stamp(text, day, pages), encoding="utf-8")
            chromium_print(engine, copy, final, work / "profile")
        except (OSError, subprocess.SubprocessError) as exc:
            return Printed(None, 0, f"no PDF of the governors' pack: {engine} failed ({exc}); "
                                    f"open {PACK_HTML.as_posix()} in a browser and print it")
        pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(final, pdf)
    count = page_count(pdf.read_bytes())
    note = "" if pages else " (its contents page has no page numbers: none could be read)"
    return Printed(pdf, count, f"{(shown or pdf).as_posix()}: the governors' pack, {count} A4 "
                               f"pages{note}")


def print_beside(out: Path, shown_as: Path | None = None) -> str:
    """`build`'s PDF step: `<out>/pdf/governors-pack.pdf` from the pack just written; a line
    to show the user, naming the PDF under `shown_as` (the output folder `out` is about to
    become, when `out` is the build's staging folder). CME_POLICY_PDF=0 skips it."""
    if os.environ.get("CME_POLICY_PDF", "1") == "0":
        return "PDF skipped (CME_POLICY_PDF=0)"
    html = out / PACK_HTML
    if not html.is_file():
        return f"no PDF: {html.as_posix()} was not generated"
    shown = shown_as / PACK_PDF if shown_as is not None else None
    return print_pack(html, out / PACK_PDF, shown=shown).message
