"""The CLI's front door: arguments and files are checked before any work, and a bad one is refused
in one line with exit status 2 (``--debug`` adds the traceback).

A suite run from scripts, CI and nightly jobs by people who did not write it must never answer a
typo with a Python traceback (it reads as "the suite crashed") or with exit 0 (it reads as "all
good"). Every subcommand gets this for free: ``FrontDoorParser`` turns argparse's errors into
``UsageError``, the ``type=`` validators below check values and paths at parse time, and
``guarded`` (what ``main`` runs a command under) prints a ``UsageError`` as one line and returns 2.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

if TYPE_CHECKING:
    from mhc_verify.registry import BackendInfo

USAGE_ERROR_EXIT = 2
DEBUG_FLAG = "--debug"


class UsageError(Exception):
    """A bad argument or input file: the message names it and says what is wrong, in one line.
    ``prog`` (e.g. ``mhc-verify check``) is the command it is reported under, if not the caller's."""

    def __init__(self, message: str, prog: str | None = None) -> None:
        super().__init__(message)
        self.prog = prog


class FrontDoorParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are ``UsageError`` (one line, exit 2) instead of usage text
    plus SystemExit; subparsers made from it are FrontDoorParsers too."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)", prog=self.prog)


def one_line(text: str) -> str:
    """``text`` with its line breaks folded: an error is always exactly one line of output."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip()) or "(no message)"


def _debug_requested(argv: Sequence[str]) -> bool:
    # Looked for in argv itself: an argument error ends the parse before any namespace exists.
    head = list(argv)[: list(argv).index("--")] if "--" in argv else list(argv)
    return DEBUG_FLAG in head


def guarded(run: Callable[[list[str]], int], argv: Sequence[str], prog: str) -> int:
    """``run(argv)``, with a ``UsageError`` printed as ``PROG: error: MESSAGE`` and exit status 2, and with
    stdout and stderr that never raise because their reader has gone (``_OutputWhoseReaderMayGo``)."""
    with output_whose_reader_may_go():
        try:
            return run(list(argv))
        except UsageError as e:
            if _debug_requested(argv):
                traceback.print_exc()
            print(f"{e.prog or prog}: error: {one_line(str(e))}", file=sys.stderr)
            return USAGE_ERROR_EXIT


@contextlib.contextmanager
def output_whose_reader_may_go() -> Iterator[None]:
    """sys.stdout and sys.stderr as ``_OutputWhoseReaderMayGo`` for the duration (every command's ``main``)."""
    streams = {name: _OutputWhoseReaderMayGo(getattr(sys, name)) for name in ("stdout", "stderr")}
    previous = {name: getattr(sys, name) for name in streams}
    for name, stream in streams.items():
        setattr(sys, name, stream)
    try:
        yield
    finally:
        for name, stream in previous.items():
            if getattr(sys, name) is streams[name]:  # unless the run put in a stream of its own
                setattr(sys, name, stream)


class _OutputWhoseReaderMayGo:
    """A run's stdout or stderr, where a write or flush into a pipe whose reader has gone turns the stream into
    /dev/null instead of raising BrokenPipeError. Why: a run's output is only its log; its reports go to files.
    Scripts pipe it (``| grep``, ``| tail``, ``| head``), and when a timeout kills the script's process group the
    filter dies and the run's next print raised: a bench then wrote no bench.md for the rows it had measured, and a
    passing check ended in a traceback and exit status 1 (a false alarm). The run goes on; its reports are whole."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._discard_from_now_on()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._discard_from_now_on()

    def _discard_from_now_on(self) -> None:
        self.reader_gone = True
        # The descriptor too: what is still buffered, and the interpreter's own flush at exit, then go nowhere
        # instead of raising again ("Exception ignored ... BrokenPipeError", exit status 120).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a real file (a test's stream, pytest's capture)
            pass

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...: the stream's own
        return getattr(self._stream, name)


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """``--debug`` on ``parser`` and (given after the subcommand) on each of its subcommands."""
    help_text = "on a bad argument or file, also print the Python traceback"
    parser.add_argument(DEBUG_FLAG, action="store_true", help=help_text)
    for action in parser._actions:  # noqa: SLF001 - argparse has no public way to list subparsers
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in action.choices.values():
                if not any(DEBUG_FLAG in a.option_strings for a in sub._actions):  # noqa: SLF001
                    sub.add_argument(DEBUG_FLAG, action="store_true", default=argparse.SUPPRESS, help=help_text)


def add_force_flag(parser: argparse.ArgumentParser, what: str = "report") -> None:
    parser.add_argument("--force", action="store_true",
                        help=f"overwrite the {what} already in --out (without it, an existing {what} is an error)")


# --- type= validators: argparse reports their ArgumentTypeError as "argument --X: MESSAGE" -------

def _path_errors_are_argument_errors(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An OSError while looking at a path (name too long, symlink loop, ...) is a bad argument, and
    so is a NUL byte (pathlib says such a path does not exist; creating it raises)."""
    @functools.wraps(check)
    def wrapper(text: str) -> Any:
        if "\x00" in text:
            raise argparse.ArgumentTypeError(f"{text!r}: a path cannot hold a NUL byte")
        try:
            return check(text)
        except OSError as e:
            raise argparse.ArgumentTypeError(f"{text!r}: {e.strerror or e}") from e
        except ValueError as e:  # e.g. an embedded NUL byte
            raise argparse.ArgumentTypeError(f"{text!r}: {e}") from e
    return wrapper


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def seed_int(text: str) -> int:
    """A random seed torch's generators take with room for the offsets added to it."""
    value = _integer(text)
    if not 0 <= value < 1 << 62:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..2^62-1, got {text!r}")
    return value


def positive_int_list(text: str) -> list[int]:
    """A comma-separated list of positive integers (``65536,80000``)."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    try:
        return [positive_int(item) for item in items]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None


def positive_float(text: str) -> float:
    """A number > 0; ``inf`` is allowed (it means "no limit"), ``nan`` is not."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


@_path_errors_are_argument_errors
def output_dir(text: str) -> Path:
    """A directory that exists and is writable, or can be made: nothing but directories on its path
    and a writable nearest existing one. Checked with a real probe file (``os.access`` says yes to
    root for read-only mounts and /proc)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path is not a directory")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file in the way of the directory {text}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".mhc-verify-write-probe-", dir=existing)
    except OSError as e:
        raise argparse.ArgumentTypeError(f"{text}: cannot write in {existing} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(probe)
    return path


@_path_errors_are_argument_errors
def existing_path(text: str) -> Path:
    """A file or a directory that exists (``merge``: report files or folders searched for them)."""
    path = Path(text)
    if not text or not path.exists():
        raise argparse.ArgumentTypeError(f"no such file or directory: {text!r}")
    return path


@_path_errors_are_argument_errors
def readable_file(text: str) -> Path:
    path = existing_path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    with path.open("rb"):
        pass
    return path


def read_json(path: Path, what: str = "") -> Any:
    """The JSON document in ``path`` (xz-compressed where the name ends in ``.xz``, as large reports
    are committed); a file that is missing, unreadable, not xz or not JSON is a UsageError."""
    import lzma

    label = f"{what} {path}".strip()
    try:
        data = path.read_bytes()
        if path.name.endswith(".xz"):
            data = lzma.decompress(data)
        text = data.decode("utf-8")
    except OSError as e:
        raise UsageError(f"{label}: cannot read: {e.strerror or e}") from e
    except lzma.LZMAError as e:
        raise UsageError(f"{label}: not an xz file: {e}") from e
    except UnicodeDecodeError as e:
        raise UsageError(f"{label}: not UTF-8 text (byte {e.start})") from e
    return parse_json(text, label)


def parse_json(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{label}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise UsageError(f"{label}: JSON nested too deeply") from e


@_path_errors_are_argument_errors
def yaml_mapping_file(text: str) -> Path:
    """A readable YAML file whose top level is a mapping (a configuration); syntax errors are
    reported in one line with their position."""
    import yaml

    path = readable_file(text)
    try:
        raw = yaml.safe_load(path.read_bytes())
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise argparse.ArgumentTypeError(f"{text}: not valid YAML: {e.problem or e.context}{where}") from None
    except (yaml.YAMLError, RecursionError) as e:
        raise argparse.ArgumentTypeError(f"{text}: not valid YAML: {one_line(str(e)) or type(e).__name__}") from None
    if not isinstance(raw, dict):
        raise argparse.ArgumentTypeError(f"{text}: expected a mapping at the top level, got {type(raw).__name__}")
    return path


# --- checks that need more than one argument ----------------------------------------------------

def refuse_existing_report(out_dir: Path, report_files: Sequence[str], force: bool) -> None:
    """An earlier report in ``out_dir`` is never overwritten silently: without ``--force`` it is an error."""
    if force:
        return
    found = [name for name in report_files if (out_dir / name).exists()]
    if found:
        raise UsageError(f"--out {out_dir}: holds a report from an earlier run ({', '.join(found)}); "
                         "choose another --out or pass --force to overwrite it")


def explicit_backends(names: Sequence[str], discovered: dict[str, BackendInfo],
                      option: str = "--backend") -> dict[str, BackendInfo]:
    """The backends named on the command line. An unknown name, or one that cannot be loaded (an
    import error, an attribute that is missing or not a Backend), is a UsageError: asked for by name,
    it is a mistake, not "unavailable". A backend that loads but cannot run here stays unavailable."""
    from mhc_verify.registry import select

    chosen: dict[str, BackendInfo] = {}
    for name in names:
        try:
            selected = select([name], discovered)
        except KeyError as e:
            raise UsageError(f"{option} {name}: {e.args[0]}") from e
        for info in selected.values():
            if info.backend is None:
                raise UsageError(f"{option} {name}: {info.reason}")
        chosen.update(selected)
    return chosen
