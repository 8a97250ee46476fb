"""Whole-number arithmetic on reasoning-gym: skill tree, generators, solver, classifier, rewrites."""

from teachloop.environments.arithmetic.env import ArithmeticEnv

__all__ = ["ArithmeticEnv"]
