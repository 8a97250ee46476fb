"""Per-skill evaluation (`teachloop.training.evaluate.evaluate`) against raw `model.generate`:
problems per second on the same problems, at the same batch size, greedy, same token budget.

The raw side is what a user would write by hand: chat-template the prompts, tokenize each batch
with left padding, `generate`, `batch_decode`. The evaluation side additionally scores every
completion with the environment's reward and builds the per-skill tally. Both are timed end to
end; repeats alternate the two (the machine may be shared), and the medians are compared.

    python benchmarks/eval_throughput.py --student smollm2 --per-skill 8 --batch-size 32 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import UTC, datetime


def raw_generate(student, problems, batch_size: int, max_new_tokens: int) -> tuple[float, list[str]]:  # noqa: ANN001
    """Seconds and texts of plain batched greedy `generate` over `problems` in their given order."""
    import torch

    from teachloop.training.prompts import to_prompt_text

    model, tok = student.model, student.tokenizer
    tok.padding_side = "left"
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    texts: list[str] = []
    t0 = time.perf_counter()
    model.eval()
    with torch.inference_mode():
        for lo in range(0, len(problems), batch_size):
            prompts = [to_prompt_text(student, p) for p in problems[lo : lo + batch_size]]
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
            texts += tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return time.perf_counter() - t0, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--student", default="smollm2", help="smollm2 (converted once from the PyPI wheel), tiny, or a model dir.")
    ap.add_argument("--env", default="arithmetic")
    ap.add_argument("--per-skill", type=int, default=8, help="Held-out problems per skill (the smoke profile uses 8).")
    ap.add_argument("--batch-size", type=int, default=32, help="Generation batch size for both sides (eval.batch_size).")
    ap.add_argument("--max-new-tokens", type=int, default=12, help="Token budget for both sides (smoke: 12).")
    ap.add_argument("--repeats", type=int, default=3, help="Alternating repeats; medians are reported.")
    ap.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = ap.parse_args()

    import torch

    from teachloop.environments import get_environment
    from teachloop.training.evaluate import evaluate
    from teachloop.training.student import load_student

    env = get_environment(args.env)
    problems = env.eval_set("heldout", args.per_skill)
    student = load_student(args.student)
    raw_s, eval_s, agree = [], [], 0
    # untimed warm-up of both sides: the first generate pays one-off costs (kernels, allocator)
    evaluate(student, problems[: args.batch_size], env.reward, round=0, split="heldout", batch_size=args.batch_size, max_new_tokens=2)
    raw_generate(student, problems[: args.batch_size], args.batch_size, 2)
    for _ in range(args.repeats):
        outcome = evaluate(
            student, problems, env.reward, round=0, split="heldout", batch_size=args.batch_size, max_new_tokens=args.max_new_tokens
        )
        eval_s.append(outcome.seconds)
        seconds, texts = raw_generate(student, problems, args.batch_size, args.max_new_tokens)
        raw_s.append(seconds)
        agree = sum(a.completions[0].strip() == t.strip() for a, t in zip(outcome.attempts, texts))
    n = len(problems)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "torch_threads": torch.get_num_threads(),
        "student": args.student,
        "problems": n,
        "skills": len({p.skill_id for p in problems}),
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "evaluate_s": eval_s,
        "raw_generate_s": raw_s,
        "evaluate_problems_per_s": n / statistics.median(eval_s),
        "raw_problems_per_s": n / statistics.median(raw_s),
        "ratio": statistics.median(raw_s) / statistics.median(eval_s),
        "same_text": agree,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{n} problems ({result['skills']} skills), batch {args.batch_size}, {args.max_new_tokens} tokens: "
            f"evaluate {result['evaluate_problems_per_s']:.2f} problems/s, raw generate {result['raw_problems_per_s']:.2f} "
            f"-> {result['ratio']:.2f}x raw (medians of {args.repeats}; runs eval {', '.join(f'{s:.1f}' for s in eval_s)} s, "
            f"raw {', '.join(f'{s:.1f}' for s in raw_s)} s); identical completions {agree}/{n}"
        )


if __name__ == "__main__":
    main()
