"""Keep transformers / TRL / datasets chatter off the user's terminal while the student works.

The CLI draws its own progress bars from `on_progress` callbacks; library progress bars, info logs
and deprecation warnings would interleave with them. Errors still surface as exceptions.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LOGGERS = ("trl", "accelerate", "datasets", "peft", "huggingface_hub", "torch.distributed")


@contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Silence library logs below ERROR, their progress bars and Python warnings; restore on exit."""
    if not enabled:
        yield
        return
    import datasets
    import transformers

    tlog = transformers.utils.logging
    verbosity, bars = tlog.get_verbosity(), tlog.is_progress_bar_enabled()
    ds_bars = datasets.is_progress_bar_enabled()
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    datasets.disable_progress_bars()
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        tlog.set_verbosity(verbosity)
        if bars:
            tlog.enable_progress_bar()
        if ds_bars:
            datasets.enable_progress_bars()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
