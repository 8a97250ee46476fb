"""Four named reasoning-gym environments with hand-designed skill graphs: the domains of SEC
(Countdown, Zebra puzzles, ARC-1D) and DUMP (Knights and Knaves).

In each, a skill fixes the attribute that changes what must be reasoned about (how many numbers,
people or grid cells), and its levels step another curriculum attribute of the task one
reasoning-gym level at a time; the step past the last training level is the OOD level. Skills
chain by prerequisite along the first attribute: the larger instance needs the smaller one's
strategy plus more search.
"""

from __future__ import annotations

from typing import Any

from teachloop.environments.reasoning_gym.family import RGEnvironment, RGSkill


class CountdownEnv(RGEnvironment):
    """Countdown: reach a target with +, -, *, / using every given number once.

    Skills by how many numbers there are (3 → 4 → 5): with 3 numbers a solver tries a handful of
    orderings; each extra number multiplies the search and reuses the smaller case as a
    sub-expression, hence the prerequisite edges. Levels step reasoning-gym's `target` attribute
    (targets 100-500, then 500-1000; OOD 1000-5000); values stay in 1-100. reasoning-gym draws a
    Countdown problem by trial with sympy (tenths of a second each), so its eval sets are smaller.
    """

    name = "countdown"
    base_version = "countdown-v1"
    default_heldout_per_skill = 12
    default_ood_per_skill = 6
    domain_name = "Countdown"
    domain_description = "Reach a target number with + - * / using each given number once."

    def __init__(self, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> None:
        targets = [100, 500, 1000, 5000, 10000]

        def lv(n: int, i: int) -> dict[str, Any]:
            return {
                "min_numbers": n,
                "max_numbers": n,
                "min_value": 1,
                "max_value": 100,
                "min_target": targets[i],
                "max_target": targets[i + 1],
            }

        skills = [
            RGSkill(
                id=f"countdown.n{n}",
                name=f"Countdown with {n} numbers",
                task="countdown",
                levels=tuple(lv(n, i) for i in range(2)),
                ood=lv(n, 2),
                prerequisites=(f"countdown.n{n - 1}",) if n > 3 else (),
                description=f"Combine {n} numbers with + - * / to reach the target.",
            )
            for n in (3, 4, 5)
        ]
        super().__init__(skills, heldout_per_skill=heldout_per_skill, ood_per_skill=ood_per_skill)


class ZebraEnv(RGEnvironment):
    """Zebra (Einstein) puzzles: deduce who lives where from clues.

    Skills by the number of houses/people (2 → 3 → 4): each added person multiplies the
    assignments to rule out, and the elimination used for fewer people is the first step for
    more, hence the prerequisite edges. Levels step the `num_characteristics` attribute (2, 3;
    OOD 4 characteristics per person).
    """

    name = "zebra"
    base_version = "zebra-v1"
    domain_name = "Zebra puzzles"
    domain_description = "Logic grid puzzles: who lives in which house, with which traits."

    def __init__(self, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> None:
        skills = [
            RGSkill(
                id=f"zebra.p{p}",
                name=f"Zebra puzzles with {p} people",
                task="zebra_puzzles",
                levels=tuple({"num_people": p, "num_characteristics": c} for c in (2, 3)),
                ood={"num_people": p, "num_characteristics": 4},
                prerequisites=(f"zebra.p{p - 1}",) if p > 2 else (),
                description=f"Deduce a trait of a house's occupant among {p} people from clues.",
            )
            for p in (2, 3, 4)
        ]
        super().__init__(skills, heldout_per_skill=heldout_per_skill, ood_per_skill=ood_per_skill)


class Arc1DEnv(RGEnvironment):
    """ARC-1D: infer the rule that maps example rows of cells to outputs, apply it to a new row.

    Skills by the `size` attribute's grid length (10-25 cells → 25-40): the same transformations
    (shift, fill, mirror, ...) on longer rows, so finding them on short rows comes first, hence
    the prerequisite edge. Levels lower the number of worked examples (4, 3, 2; OOD 1): fewer
    examples leave the rule less determined. `num_train` is a config field rather than a
    curriculum attribute, the one step a level takes here outside reasoning-gym's curriculum.

    Rows stop at 40 cells (`MAX_SIZE`) because reasoning-gym 0.1.25's arc_1d generator loops forever
    above that: its recolor-from-palette task draws a distinct colour from 1-9 for each block, and a
    row holds n blocks of size b >= 2 only if n(b + 2) < size, so 10 blocks need more than 40 cells
    (with 25-50 cells, seed 2440 hangs at every num_train). v1 had 25-50.
    """

    MAX_SIZE = 40
    name = "arc1d"
    base_version = "arc1d-v2"
    domain_name = "ARC-1D"
    domain_description = "One-dimensional abstraction and reasoning puzzles."

    def __init__(self, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> None:
        sizes = {"short": (10, 25), "long": (25, self.MAX_SIZE)}

        def lv(size: tuple[int, int], k: int) -> dict[str, Any]:
            return {"min_size": size[0], "max_size": size[1], "num_train": k}

        skills = [
            RGSkill(
                id=f"arc1d.{key}",
                name=f"ARC-1D on {lo}-{hi} cells",
                task="arc_1d",
                levels=tuple(lv((lo, hi), k) for k in (4, 3, 2)),
                ood=lv((lo, hi), 1),
                prerequisites=("arc1d.short",) if key == "long" else (),
                description=f"Apply the rule shown by examples to a row of {lo}-{hi} cells.",
            )
            for key, (lo, hi) in sizes.items()
        ]
        super().__init__(skills, heldout_per_skill=heldout_per_skill, ood_per_skill=ood_per_skill)


class KnightsKnavesEnv(RGEnvironment):
    """Knights and Knaves: truth-tellers and liars; say who is which from their statements.

    Skills by the `n_people` attribute (2 → 3 → 4): with 2 people four cases can be checked by
    hand; each extra person doubles the cases and nests the 2-person reasoning inside, hence the
    prerequisite edges. Levels step `depth_constraint` (statement depth 2, then 3); OOD also
    widens statements (`width_constraint` 3).
    """

    name = "knights_knaves"
    base_version = "knights_knaves-v1"
    domain_name = "Knights and Knaves"
    domain_description = "Truth-tellers and liars: assign each person a role consistent with what they say."

    def __init__(self, heldout_per_skill: int | None = None, ood_per_skill: int | None = None) -> None:
        skills = [
            RGSkill(
                id=f"knights_knaves.p{n}",
                name=f"Knights and Knaves with {n} people",
                task="knights_knaves",
                levels=tuple({"n_people": n, "depth_constraint": d, "width_constraint": 2} for d in (2, 3)),
                ood={"n_people": n, "depth_constraint": 3, "width_constraint": 3},
                prerequisites=(f"knights_knaves.p{n - 1}",) if n > 2 else (),
                description=f"Decide for each of {n} people whether they tell the truth.",
            )
            for n in (2, 3, 4)
        ]
        super().__init__(skills, heldout_per_skill=heldout_per_skill, ood_per_skill=ood_per_skill)
