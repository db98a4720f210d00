"""The ``clipsearch`` command line: a thin layer over the library.

Each command parses its arguments, calls one library function and formats
the result. Library errors become one-line messages here, in one place.

Exit codes: 0 success; 1 error (no index, bad query, locked index, nothing
could be indexed, a list of skipped files that could not be written); 2
usage error; 3 indexing finished but some files were skipped (listed on
stderr and in ``<index>/skipped.tsv``).

File names, paths and ids never reach the terminal or ``skipped.tsv`` with
their control characters: they are escaped (see :func:`_name`).
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import click

from clipsearch.errors import ClipsearchError
from clipsearch.text.normalize import clean

if TYPE_CHECKING:
    from clipsearch.backend import Backend
    from clipsearch.results import Hit, SearchResult
    from clipsearch.typesense.connection import TypesenseTarget
    from clipsearch.writing.build import IndexReport

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SKIPPED = 3

DEFAULT_INDEX_DIR = "index"
SNIPPET_LINES = 2
DEFAULT_SEEDS_DIR = "seeds"

#: Snippets are wrapped to the terminal's width, at most this many columns...
MAX_WIDTH = 100
#: ... and at least this many: a narrower terminal folds the lines itself.
MIN_WIDTH = 20


#: Commands that only read the index: their process may end without the
#: interpreter's teardown (see :func:`main`).
READ_ONLY_COMMANDS = frozenset({"query", "show", "similar", "stats"})


# Escapes for file names, ids and the text of clippings: nothing of them may
# act on a terminal or break a line of skipped.tsv. A tab, newline or carriage
# return becomes \t, \n or \r, the other control characters (C0, DEL, C1)
# \xNN, and the Unicode line and paragraph separators and direction controls
# (which reorder what a terminal shows) \uNNNN.
_ESCAPES = {
    **{c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))},
    **{c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F))},
    **{c: f"\\u{c:04x}" for c in range(0x2066, 0x206A)},
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
}
#: File names, paths, ids and reasons: the backslash is escaped too, so that
#: the escaped name reads back as the name.
_ESCAPE_NAME = str.maketrans({**_ESCAPES, ord("\\"): "\\\\"})
#: Text of a clipping on one line (titles, sources, snippets): a backslash in
#: it is the author's and stays.
_ESCAPE_LINE = str.maketrans(_ESCAPES)
#: Text of a clipping shown whole (the lead and body of ``show``): its
#: paragraphs and tabs are kept.
_ESCAPE_PARAGRAPHS = str.maketrans({c: e for c, e in _ESCAPES.items() if chr(c) not in "\t\n"})


def _name(text: str) -> str:
    r"""A file name, path, id or reason as one field of one line: ``\\``,
    ``\t``, ``\n``, ``\r``, ``\xNN`` or ``\uNNNN`` for a backslash and the
    characters that could act on a terminal or break the line."""
    return text.translate(_ESCAPE_NAME)


def _line(text: str) -> str:
    """Text of a clipping shown on one line: its control characters escaped."""
    return text.translate(_ESCAPE_LINE)


def _paragraphs(text: str) -> str:
    """Text of a clipping shown whole: newlines and tabs kept, the other
    control characters escaped."""
    return text.translate(_ESCAPE_PARAGRAPHS)


class _Group(click.Group):
    """Turns library exceptions into ``Error: ...`` and exit code 1."""

    #: The name of the command being run, once parsing has chosen it.
    command_name: str | None = None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        _Group.command_name = command.name if command is not None else None
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClipsearchError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clipsearch")
def cli() -> None:
    """Full-text search for Vietnamese press clippings.

    Index a folder of clipping files, then search them with or without
    diacritics:

    \b
        clipsearch index seeds/
        clipsearch query "văn phòng cấp ủy"
        clipsearch query "van phong cap uy" --json
    """


class _Text(click.ParamType):  # type: ignore[type-arg]  # generic in new click, not in 8.1
    """Text from the command line, the same for the same bytes whatever the
    locale: Python decodes the arguments with the locale's encoding and keeps
    the bytes it cannot decode as surrogate escapes (every non-ASCII byte
    under ``LC_ALL=C``); an argument with them is decoded again as UTF-8.
    Bytes that are not UTF-8 either stay surrogate escapes (no clipping id or
    word has them; messages show them as ``\\udcff``). Paths are left as
    Python decodes them: they name files."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, bytes):
            return value.decode("utf-8", "surrogateescape")
        text = str(value)
        if not any("\udc80" <= c <= "\udcff" for c in text):
            return text
        try:
            return os.fsencode(text).decode("utf-8", "surrogateescape")
        except UnicodeError:  # not what Python made of command-line bytes: as it is
            return text


#: The type of every text argument and option (not paths, numbers or choices).
TEXT = _Text()


class _DashCommand(click.Command):
    """A command whose argument (a query, an ID) may start with ``-``: an
    argument that starts with a single ``-`` is an option only when it is
    one of the command's short options (``-n``, ``-h``, ``-q``) or one that
    takes a value followed by that value (``-n5``: a number for a numeric
    option, anything for a text one); otherwise it is the argument
    (``-hà nội``, ``-nông dân``, ``-lúa``). Long options (``--...``), their
    values and ``--`` work as usual; an unknown long option is a usage
    error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _operands_last(self.get_params(ctx), args))


def _operands_last(params: Sequence[click.Parameter], args: Sequence[str]) -> list[str]:
    """``args`` with the command's arguments (see :class:`_DashCommand`)
    moved after a ``--``, where click reads nothing as an option; their
    order is kept."""
    valued: dict[str, click.Option] = {}
    flags: set[str] = set()
    for param in params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                if param.is_flag or param.count:
                    flags.add(name)
                else:
                    valued[name] = param
    head, after = list(args), []
    if "--" in head:
        cut = head.index("--")
        head, after = head[:cut], head[cut + 1 :]
    options: list[str] = []
    operands: list[str] = []
    i = 0
    while i < len(head):
        arg = head[i]
        if arg in valued:  # the option and its value, whatever the value looks like
            take = 1 + max(valued[arg].nargs, 1)
            if i + take > len(head):  # no value: click says so (or takes the "--")
                return list(args)
            options += head[i : i + take]
            i += take
            continue
        if arg.startswith("--") or arg in flags or _attached_value(arg, valued):
            options.append(arg)
        else:
            operands.append(arg)
        i += 1
    return [*options, "--", *operands, *after]


def _attached_value(arg: str, valued: dict[str, click.Option]) -> bool:
    """Is ``arg`` a short option with its value attached (``-n5``)? For a
    numeric option only when the rest is a number (``-nông`` is no limit)."""
    option = valued.get(arg[:2]) if len(arg) > 2 and arg[0] == "-" and arg[1] != "-" else None
    if option is None:
        return False
    if isinstance(option.type, click.types.IntParamType | click.types.FloatParamType):
        number = int if isinstance(option.type, click.types.IntParamType) else float
        try:
            number(arg[2:])
        except ValueError:
            return False
    return True


_index_dir_option = click.option(
    "--index-dir",
    default=DEFAULT_INDEX_DIR,
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder of the index.",
)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"clipsearch.{param.name}"] = value
    return value


def index_dir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--index-dir``, and ``--typesense``/``--collection`` for an archive on
    a Typesense cluster instead (read by :func:`_typesense_target`)."""
    command = click.option(
        "--collection",
        default="clippings",  # typesense.connection.DEFAULT_COLLECTION (not imported: --help stays light)
        show_default=True,
        expose_value=False,
        callback=_remember,
        help="The Typesense collection (with --typesense).",
    )(command)
    command = click.option(
        "--typesense",
        multiple=True,
        metavar="URL",
        expose_value=False,
        callback=_remember,
        help="Use the archive on the Typesense node at URL (repeat for each node of a cluster) "
        "instead of --index-dir; the API key comes from CLIPSEARCH_TYPESENSE_API_KEY.",
    )(command)
    return _index_dir_option(command)


def _typesense_target() -> TypesenseTarget | None:
    """The Typesense collection given to the command being run (None: the index folder)."""
    meta = click.get_current_context().meta
    nodes = tuple(meta.get("clipsearch.typesense") or ())
    if not nodes:
        return None
    from clipsearch.typesense.connection import TypesenseTarget

    return TypesenseTarget(nodes, collection=meta.get("clipsearch.collection") or "clippings")


@cli.command("index")
@click.argument("paths", nargs=-1, type=click.Path())
@index_dir_option
@click.option("--rebuild", is_flag=True, help="Start a new index instead of updating the existing one.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary; skipped files are still listed.")
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the skipped files and reasons to this file (always in <index-dir>/skipped.tsv).",
)
@click.option(
    "--commit-every",
    default=40_000,  # writing.build.COMMIT_EVERY (not imported: --help stays light); a test checks they agree
    show_default=True,
    type=click.IntRange(min=1),
    help="Commit after this many clippings: a killed run keeps what it committed.",
)
@click.option("--procs", type=click.IntRange(min=1), help="Processes that analyse text [default: one per CPU].")
def index_command(
    paths: Sequence[str],
    index_dir: str,
    rebuild: bool,
    quiet: bool,
    report_file: str | None,
    commit_every: int,
    procs: int | None,
) -> None:
    """Index clipping files and folders (*.txt, recursively).

    PATHS defaults to seeds/. New files are added, changed and moved ones
    re-indexed, unchanged ones kept, and clippings whose file was deleted
    from an indexed folder removed. Files that cannot be read are listed with
    the reason and skipped: the exit code is then 3 (1 when no file at all
    could be indexed).
    """
    target = _typesense_target()
    given = list(paths) if paths else [DEFAULT_SEEDS_DIR]  # "" is skipped: not the current folder
    with _ProgressBar(enabled=not quiet and sys.stderr.isatty()) as bar:
        if target is not None:
            from clipsearch.typesense.indexing import index_typesense

            report = index_typesense(given, target, rebuild=rebuild, progress=bar.update, procs=procs)
        else:
            from clipsearch.writing.build import build_index  # Whoosh and the writer: only for this command

            report = build_index(
                given, index_dir, rebuild=rebuild, progress=bar.update, procs=procs, commit_every=commit_every
            )
    if not quiet:
        _print_report(report)
    _print_problems(report)
    written = _write_skipped(report, report_file, in_index=target is None)
    if report.skipped and not report.indexed and not report.unchanged:
        raise click.ClickException(f"no clipping could be indexed ({len(report.skipped)} skipped)")
    if not written:
        sys.exit(EXIT_ERROR)
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


class _ProgressBar:
    """A progress bar on stderr (files, rate, ETA), made on the first update."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0
        self.started = time.monotonic()

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.render_finish()

    def _rate(self, _item: object) -> str:
        elapsed = time.monotonic() - self.started
        return f"{self.done / elapsed:,.0f} files/s" if elapsed > 0 else ""

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=total,
                label="Indexing",
                show_pos=True,
                show_eta=True,
                item_show_func=self._rate,
                file=sys.stderr,
            )
            self.bar.__enter__()
        self.bar.update(done - self.done, current_item=done)
        self.done = done


def _terminal_columns(fallback: int) -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it (``COLUMNS``,
    else standard output's terminal, else ``fallback``), without importing
    shutil (and with it bz2 and lzma) for a query."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else fallback


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _print_report(report: IndexReport) -> None:
    click.echo(
        f"Indexed {_plural(len(report.indexed), 'clipping')} into {_name(report.index_dir)}/ "
        f"({len(report.added):,} new, {len(report.updated):,} changed, {len(report.unchanged):,} unchanged, "
        f"{len(report.removed):,} removed); {_plural(report.total, 'clipping')} in the index."
    )


def _print_problems(report: IndexReport) -> None:
    for warning in report.warnings:
        click.echo(f"Warning: {_name(warning.path)}: {_name(warning.reason)}", err=True)
    if report.skipped:
        click.echo(f"Skipped {_plural(len(report.skipped), 'file')}:", err=True)
        for skipped in report.skipped:
            click.echo(f"  {_name(skipped.path)}: {_name(skipped.reason)}", err=True)


def _write_skipped(report: IndexReport, report_file: str | None, in_index: bool = True) -> bool:
    """Write the skipped files, one ``path<TAB>reason`` line each (both
    escaped by :func:`_name`), to ``<index>/skipped.tsv`` (removed when
    nothing was skipped) and to ``report_file`` if given. A file that cannot
    be written is an ``Error:`` line on stderr (the index is committed by
    now, and stays); returns whether all went well."""
    lines = "".join(f"{_name(s.path)}\t{_name(s.reason)}\n" for s in report.skipped)
    done = True
    beside = os.path.join(report.index_dir, "skipped.tsv")
    if in_index and lines:  # (a Typesense collection has no folder to write beside)
        done = _write_text(beside, lines)
    elif in_index and os.path.lexists(beside):
        try:
            os.remove(beside)
        except OSError as exc:
            _report_failed("cannot remove the old report", beside, exc)
            done = False
    if report_file is not None:
        done = _write_text(report_file, lines) and done
    return done


def _write_text(path: str, text: str) -> bool:
    try:
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as out:  # a path's own bytes
            out.write(text)
    except (OSError, UnicodeError) as exc:
        _report_failed("cannot write the report", path, exc)
        return False
    if text:
        click.echo(f"The list of skipped files is in {_name(path)}", err=True)
    return True


def _report_failed(what: str, path: str, exc: Exception) -> None:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    click.echo(f"Error: {what} {_name(path)}: {_name(reason)}", err=True)


def _open_index(index_dir: str) -> Backend:
    """The archive, opened for a command that reads it: the index in
    ``index_dir``, or the Typesense collection given with ``--typesense``."""
    from clipsearch.backend import open_backend  # numpy and the readers: not for --help or index

    target = _typesense_target()
    return open_backend(target if target is not None else index_dir)


# A query may start with "-" (-lúa mùa: without lúa): what is no option of the command is the query.
@cli.command("query", cls=_DashCommand)
@click.argument("query", required=False, default="*", type=TEXT)
@index_dir_option
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(min=1), help="Hits to show.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NAME",
    type=TEXT,
    help="Only this source (repeatable; any case, with or without diacritics).",
)
@click.option(
    "--since",
    metavar="DATE",
    type=TEXT,
    help="Only clippings dated on or after DATE (dd/mm/yyyy, yyyy-mm-dd, mm/yyyy, yyyy).",
)
@click.option(
    "--until", metavar="DATE", type=TEXT, help="Only clippings dated on or before DATE (a month or year: to its end)."
)
@click.option(
    "--sort",
    type=click.Choice(["relevance", "newest", "oldest"]),
    default="relevance",
    show_default=True,
    help="Order of the hits (a query without words lists newest first).",
)
@click.option("--facets", is_flag=True, help="Also count all matches by source and by month.")
@click.option("--no-collapse", is_flag=True, help="Show every near-duplicate reprint as a hit of its own.")
@click.option("--exact-input", is_flag=True, help="Search the words as typed: no decoding of Telex or VNI keystrokes.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def query_command(
    query: str,
    index_dir: str,
    limit: int,
    sources: tuple[str, ...],
    since: str | None,
    until: str | None,
    sort: str,
    facets: bool,
    no_collapse: bool,
    exact_input: bool,
    as_json: bool,
) -> None:
    """Search the index.

    \b
    Words must all match, with or without diacritics:
        clipsearch query "van phong cap uy"
    "Quoted phrase", AND, OR, NOT (or -word), (groups), the field prefixes
    title: and source:, and date: ranges:
        clipsearch query 'title:"hòa bình" OR source:ttxvn -mỹ'
        clipsearch query 'bão date:01/09/2025..30/09/2025'
    A query of * (or none) lists every clipping, newest first:
        clipsearch query --source "tuoi tre" --since 01/03/2026 --until 31/03/2026 --facets
    Words typed with the input method off (Telex or VNI) are decoded:
        clipsearch query "vawn phongf caaps uyr"    (searches văn phòng cấp uỷ)
    """
    with _open_index(index_dir) as index:
        result = index.query(
            query,
            limit=limit,
            source=sources,
            since=since,
            until=until,
            sort=sort,
            facets=facets,
            collapse=not no_collapse,
            exact_input=exact_input,
        )
    if as_json:
        _echo_json(result.to_dict())
    else:
        _print_result(result)


@cli.command("show", cls=_DashCommand)
@click.argument("clipping_id", metavar="ID", type=TEXT)
@index_dir_option
@click.option("--query", "-q", "query", metavar="QUERY", type=TEXT, help="Highlight the words of this query.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def show_command(clipping_id: str, index_dir: str, query: str | None, as_json: bool) -> None:
    """Print the whole clipping ID (as shown by query), its words of QUERY marked."""
    with _open_index(index_dir) as index:
        view = index.show(clipping_id, query)
    if as_json:
        _echo_json(view.to_dict())
        return
    color = _use_color()
    click.echo(_mark(view.title, view.title_highlights, color, bold=True))
    meta = [
        view.date.strftime("%d/%m/%Y") if view.date else "no date",
        _line(view.source) if view.source else "no source",
        _name(view.id),
    ]
    click.echo(" · ".join(meta))
    click.echo(_name(view.path))
    for text, spans in ((view.lead, view.lead_highlights), (view.body, view.body_highlights)):
        if text:
            click.echo("")
            click.echo(_mark(text, spans, color, escape=_paragraphs))


@cli.command("similar", cls=_DashCommand)
@click.argument("clipping_id", metavar="ID", type=TEXT)
@index_dir_option
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(min=1), help="Hits to show.")
@click.option("--include-reprints", is_flag=True, help="Also list near-duplicate reprints of ID.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def similar_command(clipping_id: str, index_dir: str, limit: int, include_reprints: bool, as_json: bool) -> None:
    """List the clippings most like ID (its reprints left out)."""
    with _open_index(index_dir) as index:
        result = index.similar(clipping_id, limit=limit, include_reprints=include_reprints)
    if as_json:
        _echo_json(result.to_dict())
    else:
        _print_result(result)


@cli.command("stats")
@index_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def stats_command(index_dir: str, as_json: bool) -> None:
    """What the index holds: clippings, sources, dates, size, last update."""
    with _open_index(index_dir) as index:
        stats = index.stats()
    if as_json:
        _echo_json(stats.to_dict())
        return
    dates = (
        f"{stats.first_date:%d/%m/%Y} – {stats.last_date:%d/%m/%Y}" if stats.first_date and stats.last_date else "none"
    )
    if stats.size_bytes is None:  # a Typesense collection: its URL, no size
        click.echo(f"Index:          {_name(stats.index_dir)} (updated {stats.updated})")
    else:
        click.echo(
            f"Index:          {_name(stats.index_dir)}/ ({stats.size_bytes / 1e6:,.1f} MB, updated {stats.updated})"
        )
    click.echo(f"Clippings:      {stats.clippings:,}")
    click.echo(f"Dates:          {dates}")
    click.echo(f"Without date:   {stats.without_date:,}")
    click.echo(f"Without source: {stats.without_source:,}")
    click.echo(f"Sources:        {len(stats.sources):,}")
    for name, count in stats.sources.items():
        click.echo(f"  {count:>8,}  {_line(name)}")


@cli.command("serve")
@index_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--workers",
    default=lambda: _default_workers(),
    show_default="the usable CPUs, at most 4",
    type=click.IntRange(1, 64),
    help="Processes answering requests, each with its own open index.",
)
def serve_command(index_dir: str, host: str, port: int, workers: int) -> None:
    """Serve the archive in a browser, and the HTTP API (JSON), until Ctrl-C or SIGTERM.

    \b
    Pages: /  (search)  /clippings/ID  /stats
    GET /api/search?q=...   /api/clippings/ID   /api/clippings/ID/similar
    GET /api/stats          /healthz
    The index is opened on the first request: the server may start first.
    """
    try:  # Starlette and uvicorn: only with the serve extra, only for this command
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise click.ClickException('clipsearch serve needs the serve extra: pip install "clipsearch[serve]"') from None
    from clipsearch.serve import ServeError, listen, listening_url, serve

    try:
        sock = listen(host, port)
    except ServeError as exc:
        raise click.ClickException(str(exc)) from None
    everywhere = " (every interface of this machine)" if host in ("0.0.0.0", "::") else ""
    target = _typesense_target()
    shown = str(target) if target is not None else index_dir
    click.echo(f"Serving {_name(shown)} at {listening_url(sock)}{everywhere} (Ctrl-C stops)")
    sys.stdout.flush()
    serve(target if target is not None else index_dir, sock, workers=workers)


def _default_workers() -> int:
    """One worker per CPU this process may use, at most 4."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return max(1, min(usable, 4))


def _echo_json(data: object) -> None:
    """Print ``data`` as JSON: as UTF-8 text when the output can take it, else
    with ``\\u`` escapes (an output in another encoding, or text that is not
    valid Unicode, such as undecodable bytes of an argument)."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    try:
        text.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
    except (UnicodeError, LookupError):
        text = json.dumps(data, ensure_ascii=True, indent=2)
    click.echo(text)


def _use_color() -> bool:
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _mark(
    text: str,
    spans: Sequence[tuple[int, int]],
    color: bool,
    bold: bool = False,
    escape: Callable[[str], str] = _line,
) -> str:
    """``text`` with the spans bold and yellow on a terminal, else
    ``**marked**``; ``escape`` (:func:`_line`, :func:`_paragraphs`) keeps its
    control characters from the terminal."""

    def plain(piece: str) -> str:
        piece = escape(piece)
        return click.style(piece, bold=True) if color and bold and piece else piece

    out, pos = [], 0
    for start, end in spans:
        out.append(plain(text[pos:start]))
        word = escape(text[start:end])
        out.append(click.style(word, bold=True, fg="yellow") if color else f"**{word}**")
        pos = end
    out.append(plain(text[pos:]))
    return "".join(out)


def _wrap(text: str, width: int) -> list[tuple[int, int]]:
    """Line ranges of ``text`` broken at spaces to at most ``width`` characters
    (at least one)."""
    width = max(width, 1)
    lines, start = [], 0
    while len(text) - start > width:
        cut = text.rfind(" ", start, start + width + 1)
        if cut <= start:
            cut = start + width
        lines.append((start, cut))
        start = cut + 1 if cut < len(text) and text[cut] == " " else cut
    lines.append((start, len(text)))
    return lines


def _format_hit(rank: int, hit: Hit, color: bool, width: int) -> list[str]:
    meta = [hit.date.strftime("%d/%m/%Y") if hit.date else "no date"]
    meta.append(_line(hit.source) if hit.source else "no source")
    meta += [_name(hit.id), f"score {hit.score:.2f}"]
    title = _mark(hit.title, hit.title_highlights, color, bold=True)
    lines = [f"{rank:>2}. {title}", "    " + " · ".join(meta)]
    ranges = _wrap(hit.snippet, width - 4)
    for i, (start, end) in enumerate(ranges[:SNIPPET_LINES]):
        spans = [(max(s, start) - start, min(e, end) - start) for s, e in hit.highlights if s < end and e > start]
        more = "…" if i == SNIPPET_LINES - 1 and len(ranges) > SNIPPET_LINES else ""
        lines.append("    " + _mark(hit.snippet[start:end], spans, color) + more)
    if hit.similar:
        lines.append(f"    +{len(hit.similar)} similar: {', '.join(_name(id_) for id_ in hit.similar)}")
    return lines


def _print_result(result: SearchResult) -> None:
    if result.corrected:
        click.echo(f"Showing results for: {_line(result.corrected)}")
        click.echo(f"Search instead for {_line(result.query)!r} as typed: --exact-input")
    if result.suggestion:
        # The suggestion is the query rewritten: nothing of it may act on the terminal.
        click.echo(f"Did you mean: {_line(' '.join(clean(result.suggestion).split()))}")
    if not result.hits:
        click.echo(f"No clipping matches {result.query!r}.")
        return
    shown = len(result.hits)
    click.echo(
        f"{_plural(result.total, 'clipping')} match {result.query!r}; showing {shown}:"
        if result.total != 1
        else f"1 clipping matches {result.query!r}:"
    )
    color = _use_color()
    width = max(MIN_WIDTH, min(MAX_WIDTH, _terminal_columns(MAX_WIDTH)))
    for rank, hit in enumerate(result.hits, start=1):
        click.echo("")
        for line in _format_hit(rank, hit, color, width):
            click.echo(line)
    _print_facets(result)


def _print_facets(result: SearchResult) -> None:
    if result.facets is None:
        return
    for name, label in (("source", "By source"), ("month", "By month")):
        click.echo("")
        click.echo(f"{label}:")
        for value, count in result.facets[name].items():
            click.echo(f"  {count:>8,}  {_line(value)}")


class _OutputError(OSError):
    """Standard output or error could not be written (a full disk, a closed
    stream, a reader that went away)."""


class _StandardStream(io.RawIOBase):
    """The bytes of standard output or error, written to its file descriptor
    (None: the stream was closed when the process started). The first failure
    to write raises :class:`_OutputError`; after it the stream drops what it is
    given, so that nothing fails a second time at exit."""

    def __init__(self, fd: int | None, what: str) -> None:
        super().__init__()
        self.fd = fd
        self.what = what
        self.failed = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self.fd is None:
            raise io.UnsupportedOperation(f"{self.what} is closed")
        return self.fd

    def isatty(self) -> bool:
        return self.fd is not None and os.isatty(self.fd)

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self.failed:
            return size
        try:
            if self.fd is None:
                raise OSError(errno.EBADF, f"{self.what} is closed")
            return os.write(self.fd, data)
        except OSError as exc:
            self.failed = True
            raise _OutputError(exc.errno, exc.strerror) from None


def _standard_stream(stream: TextIO | None, fd: int, name: str, errors: str) -> TextIO:
    """A text stream for standard output or error (``fd``) that never fails to
    encode (``errors``; UTF-8 where the locale says ASCII, as click does) and
    raises :class:`_OutputError` when it cannot write. A stream that is not
    a file (a Windows console, a program's own object) is kept as it is."""
    encoding = "utf-8"
    line_buffering = False
    if stream is None:  # closed: /dev/null takes the descriptor, so no file opened later gets it
        with contextlib.suppress(OSError):
            plug = os.open(os.devnull, os.O_WRONLY)
            if plug != fd:
                os.dup2(plug, fd)
                os.close(plug)
        raw = _StandardStream(None, name)
    else:
        buffer = getattr(stream, "buffer", None)
        file = getattr(buffer, "raw", buffer)  # no buffer between them with PYTHONUNBUFFERED
        if not isinstance(file, io.FileIO) or file.closed:
            return stream
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
        with contextlib.suppress(LookupError, TypeError):
            if codecs.lookup(stream.encoding).name != "ascii":
                encoding = stream.encoding
        line_buffering = bool(stream.line_buffering)
        raw = _StandardStream(file.fileno(), name)
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding, errors, line_buffering=line_buffering)


def _use_standard_streams() -> None:
    """Standard output and error as :func:`_standard_stream` makes them: text
    that their encoding cannot show is replaced (``?`` on standard output,
    ``\\u`` escapes on standard error), never an error."""
    sys.stdout = _standard_stream(sys.stdout, 1, "standard output", "replace")
    sys.stderr = _standard_stream(sys.stderr, 2, "standard error", "backslashreplace")


def _output_failed(exc: _OutputError) -> int:
    """Say that the output could not be written (not for a closed pipe, whose
    reader has what it wanted) and return the exit code."""
    if exc.errno != errno.EPIPE:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"Error: cannot write the output: {exc.strerror}\n")
            sys.stderr.flush()
    return EXIT_ERROR


def main() -> None:
    """Entry point of the ``clipsearch`` console script.

    Standard output and error are replaced first (see
    :func:`_use_standard_streams`): text they cannot encode is replaced, and a
    failure to write them (a full disk, a closed stream) ends the command with
    ``Error: cannot write the output: <reason>`` and exit code 1, quietly for
    a closed pipe (``| head``).

    A command that only reads the index ends with ``os._exit`` once its
    output is flushed, skipping the interpreter's teardown (freeing numpy's
    and pyvi's tables one object at a time), which it does not need.
    Nothing is left to write at that point (no files open for writing, no
    ``atexit`` work of ours); other commands end normally. A program that
    runs the command line in its own process calls :func:`cli` (with
    ``standalone_mode=False`` or click's ``CliRunner``), not this."""
    _use_standard_streams()
    code: str | int | None = EXIT_OK
    try:
        try:
            cli(prog_name="clipsearch")
        except SystemExit as done:
            code = done.code
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except _OutputError as exc:
        code = _output_failed(exc)
    if isinstance(code, int) and _Group.command_name in READ_ONLY_COMMANDS:
        os._exit(code)
    sys.exit(code)
