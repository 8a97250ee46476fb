"""One round of GRPO on the teacher's curriculum, through TRL's `GRPOTrainer`.

A new trainer is built every round around the same `student.model`, which it trains in place, so
training accumulates over an episode. Each round starts with a fresh optimizer (the curriculum,
hence the loss landscape, changes between rounds) unless `keep_optimizer_state` carries AdamW's
moments over, which a comparison of curricula deciding at different periods needs. Rollouts are scored by the
environment's reward through `RolloutRecorder`, which also returns them as per-problem `Attempt`s.
"""

from __future__ import annotations

import gc
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from teachloop.skills.records import Attempt, Problem, Record
from teachloop.training.prompts import to_messages
from teachloop.training.quiet import quiet
from teachloop.training.rollouts import RolloutRecorder

if TYPE_CHECKING:
    from teachloop.training.student import Student

RewardFn = Callable[[Problem, str], float]
ProgressFn = Callable[[int, int], None]


class GRPOSettings(Record):
    """How the student is trained in one round. CPU-sized defaults: a SmolLM2 step takes ~13 s on 2 idle cores."""

    steps: int = Field(default=4, ge=1, description="Optimizer steps per round (TRL `max_steps`).")
    prompts_per_step: int = Field(
        default=2, ge=1, description="Distinct problems per optimizer step; each is sampled `num_generations` times."
    )
    num_generations: int = Field(default=8, ge=2, description="Group size G: completions per problem whose rewards are compared (≥ 2).")
    max_completion_length: int | None = Field(
        default=None,
        ge=1,
        description="Tokens generated per completion; on CPU time grows linearly with it. Unset: the run's answer_tokens, "
        "raised to the environment's answer-length hint (a run sets it before training).",
    )
    learning_rate: float | None = Field(
        default=None,
        gt=0,
        description="AdamW learning rate. None: 1e-5 for full fine-tuning, 1e-4 with LoRA. TRL's default 1e-6 "
        "moved SmolLM2 by nothing measurable in 12 steps, and a round has only a handful of steps.",
    )
    lr_scheduler_type: str = Field(
        default="constant",
        description="transformers scheduler name. Constant, because rounds are short and training continues "
        "across rounds: a per-round decay to zero would waste the last steps of every round.",
    )
    temperature: float = Field(
        default=0.7,
        gt=0,
        description="Sampling temperature of rollouts. SmolLM2 at 1.0 mostly rambles (7% correct vs 13% at 0.7), "
        "which leaves groups with no correct answer and so no gradient.",
    )
    beta: float = Field(
        default=0.0,
        ge=0,
        description="KL penalty to a reference model. 0 skips the reference model entirely (half the memory).",
    )
    loss_type: str = Field(
        default="dapo", description="TRL loss aggregation: 'dapo' (token-level, TRL's default), 'grpo', 'dr_grpo', 'bnpo', ..."
    )
    scale_rewards: Literal["group", "batch", "none"] = Field(
        default="group", description="Divide advantages by the group ('group'), batch ('batch') std, or not ('none', Dr. GRPO)."
    )
    seed: int = Field(default=0, description="Seed of problem sampling and rollouts; round r uses seed + r.")
    use_cpu: bool | None = Field(default=None, description="Train on the CPU. None: True when CUDA is unavailable.")
    bf16: bool | None = Field(default=None, description="bf16 mixed precision. None: on when a CUDA GPU supports it; never on CPU.")
    gradient_checkpointing: bool = Field(
        default=False,
        description="Recompute activations in the backward pass (TRL's default). Off: completions here are short; "
        "measured on SmolLM2 at 2×8×16 it cut peak RSS from 5.2 to 3.9 GB for about the same step time.",
    )
    gradient_accumulation_steps: int = Field(
        default=1,
        ge=1,
        description="Split each step's prompts_per_step × num_generations rollouts into this many micro-batches "
        "(memory only; the step still sees every rollout). Must divide prompts_per_step × num_generations.",
    )
    vllm: Literal["colocate", "server"] | None = Field(
        default=None,
        description="Generate rollouts with vLLM (CUDA only; `pip install 'teachloop[vllm]'`), mapped to TRL's "
        "`use_vllm`/`vllm_mode`. 'colocate': vLLM inside every training process, sharing its GPU. 'server': a separate "
        "`trl vllm-serve` process on its own GPU(s) at `vllm_server_base_url` (README 'Scaling out'). None: transformers' generate.",
    )
    vllm_server_base_url: str = Field(
        default="http://localhost:8000", description="Base URL of the `trl vllm-serve` server when vllm = 'server'."
    )
    vllm_gpu_memory_utilization: float = Field(default=0.3, gt=0, le=1, description="GPU memory fraction vLLM may take in colocate mode.")
    use_lora: bool = Field(
        default=False,
        description="Train a LoRA adapter (peft) and merge it into the student at the end of the round, so the "
        "student stays a plain model between rounds.",
    )
    keep_optimizer_state: bool = Field(
        default=False,
        description="Carry AdamW's moments and step count from round to round (kept with the student, and saved "
        "in its checkpoint as optimizer.pt, so a resumed run continues them). Off: every round starts a fresh AdamW, whose first step moves every "
        "weight by ±lr whatever its gradient's size, so rounds of 1 step train differently from rounds of 20. "
        "Not with use_lora (the adapter is rebuilt every round).",
    )
    lora_r: int = Field(default=16, ge=1, description="LoRA rank.")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA scaling numerator (scale = alpha / r).")
    verbose: bool = Field(
        default=False,
        description="Let TRL/transformers print their logs, warnings and progress bars. Off: the caller reports "
        "progress through `on_progress`; metrics land in `TrainOutcome.stats` either way.",
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy_vllm_fields(cls, data: Any) -> Any:
        """Configs written before `vllm` replaced `use_vllm` + `vllm_mode` still load (and resume)."""
        if isinstance(data, dict) and ("use_vllm" in data or "vllm_mode" in data):
            data = dict(data)
            if data.get("vllm_server_base_url") is None:
                data.pop("vllm_server_base_url", None)
            use, mode = data.pop("use_vllm", False), data.pop("vllm_mode", "colocate")
            data.setdefault("vllm", mode if use else None)
        return data

    @model_validator(mode="after")
    def _check_batch(self) -> GRPOSettings:
        if self.keep_optimizer_state and self.use_lora:
            raise ValueError("grpo.keep_optimizer_state does not work with grpo.use_lora (the adapter is rebuilt every round)")
        rollouts = self.prompts_per_step * self.num_generations
        if rollouts % self.gradient_accumulation_steps:
            raise ValueError(
                f"gradient_accumulation_steps={self.gradient_accumulation_steps} must divide "
                f"prompts_per_step × num_generations = {rollouts}"
            )
        return self

    def resolved_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1e-4 if self.use_lora else 1e-5


class TrainOutcome(Record):
    """What one round of GRPO did: every rollout, per problem, and the round's statistics."""

    attempts: list[Attempt] = Field(
        default_factory=list, description="phase='train': one per trained problem with all its rollouts of the round."
    )
    stats: dict[str, float] = Field(default_factory=dict, description="Rollout statistics and TRL's training metrics.")
    seconds: float = Field(default=0.0, description="Wall time of the round, trainer construction included.")


def schedule(problems: list[Problem], n: int, rng: random.Random) -> list[Problem]:
    """The `n` prompts a round trains on, in order: a random subset when there are enough problems,
    otherwise every problem once plus random repeats (sampling with replacement)."""
    if len(problems) >= n:
        return rng.sample(problems, n)
    chosen = list(problems) + rng.choices(problems, k=n - len(problems))
    rng.shuffle(chosen)
    return chosen


def train_round(
    student: Student,
    problems: list[Problem],
    reward_fn: RewardFn,
    settings: GRPOSettings,
    *,
    round: int,
    output_dir: Path,
    on_progress: ProgressFn | None = None,
) -> TrainOutcome:
    """Run `settings.steps` GRPO steps on `problems` and update `student.model` in place.

    Each step takes `prompts_per_step` problems (see `schedule`) and samples `num_generations`
    completions of each; `reward_fn(problem, text)` scores them. With LoRA the adapter is merged
    back, so `student.model` may be rebound to the merged model. `on_progress(step, steps)`.
    """
    if not problems:
        raise ValueError("train_round needs at least one problem")
    if settings.max_completion_length is None:
        raise ValueError("train_round needs max_completion_length (a run sets it from the environment's answer length)")
    start = time.perf_counter()
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback, ProgressCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    rows = schedule(problems, settings.steps * settings.prompts_per_step, random.Random(f"{settings.seed}:{round}"))
    dataset = Dataset.from_list([{"prompt": to_messages(p), "problem_id": p.id, "skill_id": p.skill_id} for p in rows])
    recorder = RolloutRecorder({p.id: p for p in problems}, reward_fn, settings.num_generations)
    cuda = torch.cuda.is_available()
    use_cpu = (not cuda) if settings.use_cpu is None else settings.use_cpu
    bf16 = (not use_cpu and cuda and torch.cuda.is_bf16_supported()) if settings.bf16 is None else settings.bf16
    rollouts = settings.prompts_per_step * settings.num_generations
    world = _world_size()
    if settings.prompts_per_step % world or rollouts % (world * settings.gradient_accumulation_steps):
        raise ValueError(
            f"grpo.prompts_per_step={settings.prompts_per_step} must be a multiple of the {world} training processes "
            f"(each generates whole groups), and prompts_per_step × num_generations of processes × gradient_accumulation_steps"
        )
    with quiet(not settings.verbose):
        config = GRPOConfig(
            output_dir=str(output_dir),
            max_steps=settings.steps,
            # the global batch of a step stays prompts_per_step × num_generations, split over the processes
            per_device_train_batch_size=rollouts // (settings.gradient_accumulation_steps * world),
            gradient_accumulation_steps=settings.gradient_accumulation_steps,
            steps_per_generation=settings.gradient_accumulation_steps,  # one generation batch = one optimizer step
            num_generations=settings.num_generations,
            max_completion_length=settings.max_completion_length,
            learning_rate=settings.resolved_learning_rate(),
            lr_scheduler_type=settings.lr_scheduler_type,
            warmup_steps=0,
            temperature=settings.temperature,
            beta=settings.beta,
            loss_type=settings.loss_type,
            scale_rewards=settings.scale_rewards,
            seed=settings.seed + round,
            use_cpu=use_cpu,
            bf16=bf16,
            fp16=False,
            **{_checkpointing_arg(GRPOConfig): settings.gradient_checkpointing},
            shuffle_dataset=False,  # `schedule` already shuffled, seeded: step k trains rows k·P … k·P+P-1
            disable_dropout=True,
            report_to="none",
            save_strategy="no",
            logging_strategy="steps",
            logging_steps=1,
            disable_tqdm=True,
            dataloader_pin_memory=not use_cpu,
            **trl_vllm_args(settings),
        )
    peft_config = None
    if settings.use_lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM")

    class _Progress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001, D102
            if on_progress:
                on_progress(0, settings.steps)

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, D102
            if on_progress:
                on_progress(state.global_step, settings.steps)

    base = student.model
    restore = _Restore(base)
    reference = None
    if settings.beta > 0 and peft_config is None:
        # TRL builds the KL reference by loading `config._name_or_path`: point it at a snapshot of the
        # student as it enters the round (a random-initialised or trained student has no such path).
        reference = Path(output_dir) / "reference"
        with quiet():
            base.save_pretrained(reference, safe_serialization=True)
        base.config._name_or_path = str(reference)
    trainer = None
    frozen = _freeze_heap()
    with quiet(not settings.verbose):
        try:
            trainer = GRPOTrainer(
                model=base,
                reward_funcs=recorder,
                args=config,
                train_dataset=dataset,
                processing_class=student.tokenizer,
                callbacks=[_Progress()],
                peft_config=peft_config,
            )
            if not settings.verbose:
                trainer.remove_callback(PrinterCallback)
                trainer.remove_callback(ProgressCallback)
            if settings.keep_optimizer_state:  # built now (train() keeps one it finds) to load last round's moments
                trainer.create_optimizer()
                if student.optimizer_state is not None:
                    trainer.optimizer.load_state_dict(student.optimizer_state)
            train_start = time.perf_counter()
            trainer.train()
            if settings.keep_optimizer_state:  # the moments' tensors: `_release` empties the optimizer, not them
                student.optimizer_state = trainer.optimizer.state_dict()
            train_seconds = time.perf_counter() - train_start
            trained = trainer.accelerator.unwrap_model(trainer.model)
            if peft_config is not None:
                student.model = trained.merge_and_unload()
            elif trained is not base:  # a wrapper TRL/accelerate left around a copy: bring the weights home
                base.load_state_dict(trained.state_dict())
            if world > 1:  # each process scored its own groups: every process gets all of them
                from accelerate.utils import gather_object

                recorder.groups = gather_object(recorder.groups)
            log_history = list(trainer.state.log_history)
            steps_done = trainer.state.global_step
        except BaseException:
            # peft injects its layers into the student itself: take them out unmerged before re-raising
            if peft_config is not None and trainer is not None and hasattr(trainer.model, "unload"):
                student.model = trainer.accelerator.unwrap_model(trainer.model).unload()
            raise
        finally:
            if frozen:
                gc.unfreeze()
            restore(student.model)
            _release(trainer, student.model)
            trainer = None
            if reference is not None:
                shutil.rmtree(reference, ignore_errors=True)

    stats = recorder.stats()
    stats.update(_trl_metrics(log_history))
    stats["steps"] = float(steps_done)
    stats["seconds_per_step"] = train_seconds / steps_done if steps_done else math.nan
    stats["learning_rate"] = settings.resolved_learning_rate()
    return TrainOutcome(attempts=recorder.attempts(round=round), stats=stats, seconds=time.perf_counter() - start)


def _world_size() -> int:
    """Training processes under `accelerate launch` / `torchrun` (WORLD_SIZE), 1 otherwise."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


def trl_vllm_args(settings: GRPOSettings) -> dict[str, Any]:
    """`GRPOSettings.vllm` as TRL 1.16 `GRPOConfig` fields (nothing when vLLM is off)."""
    if settings.vllm is None:
        return {}
    args: dict[str, Any] = {"use_vllm": True, "vllm_mode": settings.vllm}
    if settings.vllm == "server":
        args["vllm_server_base_url"] = settings.vllm_server_base_url.rstrip("/")
    else:
        args["vllm_gpu_memory_utilization"] = settings.vllm_gpu_memory_utilization
    return args


def vllm_problem(settings: GRPOSettings, timeout_s: float = 3.0) -> str | None:
    """Why `settings.vllm` cannot run here, as one line for the user, or None. Cheap, so the CLI
    calls it before any model loads: the vllm package (TRL needs it in both modes: the server mode's
    weight sync uses its NCCL communicator), then the server's `/health`, then a CUDA GPU."""
    if settings.vllm is None:
        return None
    import importlib.util

    what = f"grpo.vllm={settings.vllm} (--vllm {settings.vllm})"
    if importlib.util.find_spec("vllm") is None:
        return f"{what} needs the vllm package on a CUDA machine: pip install 'teachloop[vllm]'"
    if settings.vllm == "server":
        import urllib.error
        import urllib.request

        url = settings.vllm_server_base_url.rstrip("/")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=timeout_s) as response:
                ok = response.status == 200
            reason = "" if ok else f"HTTP {response.status}"
        except urllib.error.HTTPError as e:
            ok, reason = False, f"HTTP {e.code}"
        except (urllib.error.URLError, OSError, ValueError) as e:
            ok, reason = False, str(getattr(e, "reason", e))
        if not ok:
            return (
                f"{what}: no vLLM server answers at {url}/health ({reason}); start one with "
                "`trl vllm-serve --model STUDENT_DIR` or set grpo.vllm_server_base_url"
            )
    import torch

    if not torch.cuda.is_available():
        return f"{what} needs a CUDA GPU and this machine has none visible; drop --vllm to generate with transformers"
    return None


def _freeze_heap() -> bool:
    """Freeze every object alive before the round (`gc.freeze`) until its end; True if this call did.

    transformers' `Trainer.train` starts with `accelerator.free_memory()`, a full `gc.collect()`
    over every object of the process: about half a million once torch, transformers and TRL are
    imported, ~0.4 s on this CPU, every round, as long as a 1-step round's step. Frozen objects
    are skipped, so that collection only looks at the round's own; their garbage (none on CUDA,
    where `_release` collects) waits until they are unfrozen. Left alone if the caller froze first."""
    if gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def _release(trainer: Any, model: Any) -> None:
    """Free what the round's trainer holds without a full `gc.collect()`: the trainer sits in
    reference cycles, so its optimizer state (two fp32 copies of the weights for AdamW) would
    otherwise wait for the cyclic collector, and a forced collection costs ~0.3 s per round on
    this CPU, 8 % of a 16-step tiny-student round (benchmarks/grpo_overhead.py). On CUDA the
    collection also lets the caching allocator hand the memory back, so it stays there."""
    import torch

    generation = getattr(trainer, "vllm_generation", None)  # vLLM is rebuilt with every round's trainer
    if generation is not None:
        client = getattr(generation, "vllm_client", None)
        if client is not None:
            client.close_communicator()  # server mode: the next round's trainer opens its own
        vars(generation).pop("llm", None)  # colocate mode: drop this round's engine before the next is built
    optimizer = getattr(trainer, "optimizer", None)
    inner = getattr(optimizer, "optimizer", optimizer)
    if inner is not None and hasattr(inner, "state"):
        inner.state.clear()
    model.zero_grad(set_to_none=True)
    if torch.cuda.is_available():
        gc.collect()
        torch.cuda.empty_cache()


class _Restore:
    """Undo what a trainer leaves on the model: TRL's fused-LM-head `forward` patch (another wrapper
    would nest on it every round), frozen weights after LoRA, gradient checkpointing, `use_cache`,
    the train/eval mode and the reference path set for `beta > 0`."""

    def __init__(self, model: Any):
        self.had_forward = "forward" in vars(model)
        self.forward = vars(model).get("forward")
        self.use_cache = getattr(model.config, "use_cache", None)
        self.training = model.training
        self.name_or_path = model.config._name_or_path
        self.requires_grad = {name: p.requires_grad for name, p in model.named_parameters()}
        self.embedding_hooks = set(model.get_input_embeddings()._forward_hooks)

    def __call__(self, model: Any) -> None:
        if self.had_forward:
            model.forward = self.forward
        else:
            vars(model).pop("forward", None)
        if any(getattr(m, "gradient_checkpointing", False) is True for m in model.modules()):
            # transformers ≥ 5.2x renamed it; the old name warns
            disable = getattr(model, "activation_checkpointing_disable", None) or model.gradient_checkpointing_disable
            disable()
        # LoRA + checkpointing: peft, transformers and TRL each hook the input embeddings
        # (`enable_input_require_grads`); drop every hook the round added, or they pile up.
        hooks = model.get_input_embeddings()._forward_hooks
        for key in [k for k in hooks if k not in self.embedding_hooks]:
            del hooks[key]
        if "_require_grads_hook" in vars(model):
            del model._require_grads_hook
        if self.use_cache is not None:
            model.config.use_cache = self.use_cache
        model.train(self.training)
        model.config._name_or_path = self.name_or_path
        for name, p in model.named_parameters():  # peft freezes the base weights and merging keeps them frozen
            p.requires_grad_(self.requires_grad.get(name, True))


def _checkpointing_arg(config_cls: type) -> str:
    """transformers renamed `gradient_checkpointing` to `activation_checkpointing`; TRL still sets the old
    name's default to True, which warns on every config. Setting the new name explicitly does not."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_cls)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


# TRL's logged metric → our stats key; averaged over the round's steps.
_TRL_KEYS = {
    "loss": "loss",
    "grad_norm": "grad_norm",
    "entropy": "entropy",
    "kl": "kl",
    "reward": "trl_reward_mean",
    "reward_std": "trl_reward_std",
    "frac_reward_zero_std": "trl_frac_reward_zero_std",
    "completions/mean_length": "completion_mean_length",
    "completions/clipped_ratio": "completion_clipped_ratio",
    "step_time": "trl_step_time",
}


def _trl_metrics(log_history: list[dict[str, Any]]) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for entry in log_history:
        if "train_runtime" in entry:  # the end-of-training summary, not a step
            continue
        for key, name in _TRL_KEYS.items():
            value = entry.get(key)
            if isinstance(value, (int, float)) and not math.isnan(value):
                sums.setdefault(name, []).append(float(value))
    return {name: sum(v) / len(v) for name, v in sums.items()}
