"""The reasoning-gym family: any reasoning-gym task as an environment, and four named ones."""

from teachloop.environments.reasoning_gym.family import RGEnvironment, RGSkill, Topic
from teachloop.environments.reasoning_gym.named import Arc1DEnv, CountdownEnv, KnightsKnavesEnv, ZebraEnv
from teachloop.environments.reasoning_gym.tasks import AnyTaskEnv, any_task_env

__all__ = ["AnyTaskEnv", "Arc1DEnv", "CountdownEnv", "KnightsKnavesEnv", "RGEnvironment", "RGSkill", "Topic", "ZebraEnv", "any_task_env"]
