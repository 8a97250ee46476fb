"""The command line's error boundary: what a user can cause is one line and exit code 2.

A user causes errors through flags, config files, paths and the contents and filesystem of a run
directory; each such error names the flag, file or path, so it can be fixed without reading code.
Anything else is a bug: one line saying so and how to see it (`--debug` shows the traceback).
Warnings become one `warning:` line each, without the source location Python adds.
"""

from __future__ import annotations

import errno
import shlex
import sys
import warnings
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True, soft_wrap=True, highlight=False)

# Errors of the machine a user runs on, not of the program: a place that can't be written, is
# full, or is not what the user said it is.
USER_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EEXIST,
    errno.ENOENT,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.ENOTEMPTY,
    errno.EFBIG,
    errno.EMLINK,
}


# typer vendors click (typer._click); its exception classes are reached through public names.
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class UserError(Exception):
    """Bad input: printed as one line, exit code 2, no traceback."""


def q(path: object) -> str:
    """A path as a user can paste it into a shell (quoted when it holds spaces or quotes)."""
    return shlex.quote(str(path))


def user_error_types() -> tuple[type[BaseException], ...]:
    """Every exception type that means "the user's input or machine", imported lazily (the
    training stack is slow to import and `--help` should stay fast)."""
    from teachloop.config import ConfigError
    from teachloop.rundir import RunDirError

    types: list[type[BaseException]] = [UserError, ConfigError, RunDirError]
    for mod, name in (
        ("teachloop.training.student", "StudentError"),
        ("teachloop.skills.graph", "SkillGraphError"),
    ):
        module = sys.modules.get(mod)
        if module is not None:
            types.append(getattr(module, name))
    return tuple(types)


def describe_os_error(e: OSError) -> str:
    """One line for an OSError a user's machine caused, naming the path."""
    where = q(e.filename) if e.filename else "the run directory"
    if e.filename2:
        where += f" → {q(e.filename2)}"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full while writing {where}: free space, then retry (`teachloop resume RUN_DIR` continues a run)"
    if e.errno == errno.EROFS:
        return f"cannot write {where}: read-only filesystem"
    if e.errno == errno.ENOTDIR:
        return f"{where}: a part of this path is a file, not a directory"
    return f"{where}: {e.strerror or e}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def fail(msg: str, code: int = 2) -> int:
    err.print(f"[bold red]error:[/bold red] {escape(msg)}", markup=True)
    return code


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    text = " ".join(str(message).split())
    prefix = "warning" if category is UserWarning else f"warning ({category.__name__})"
    err.print(f"[yellow]{prefix}:[/yellow] {escape(text)}", markup=True)


def run_boundary(command: Any, argv: list[str], debug: bool) -> int:
    """Run the click command on `argv` and turn every exception into an exit code (and one line)."""
    if not debug:
        warnings.showwarning = _show_warning
    try:
        rv = command.main(args=argv, prog_name="teachloop", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:  # click's name for Ctrl-C while it parses or prompts
        err.print("interrupted")
        return 130
    except _UsageError as e:
        if not e.format_message().strip():  # no arguments at all: the help was the answer
            return e.exit_code
        ctx = e.ctx
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        return fail(" ".join(e.format_message().split()) + hint)
    except _ClickException as e:
        return fail(" ".join(e.format_message().split()))
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as e:
        if isinstance(e, user_error_types()):
            return fail(_first_line(e))
        if isinstance(e, OSError) and e.errno in USER_ERRNOS:
            return fail(describe_os_error(e))
        if debug:
            raise
        err.print(
            f"[bold red]internal error:[/bold red] {escape(type(e).__name__)}: {escape(_first_line(e))} "
            "(a bug in teachloop; rerun with --debug for the traceback)",
            markup=True,
        )
        return 1


def split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """`--debug` may stand anywhere before a `--`; it is the boundary's flag, not a command's."""
    if "--" in argv:
        i = argv.index("--")
        head, tail = argv[:i], argv[i:]
    else:
        head, tail = argv, []
    return [a for a in head if a != "--debug"] + tail, "--debug" in head


def entry(command_factory: Callable[[], Any], argv: list[str] | None = None) -> int:
    args, debug = split_debug(list(sys.argv[1:] if argv is None else argv))
    return run_boundary(command_factory(), args, debug)
