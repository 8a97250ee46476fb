"""The student: model loading, greedy evaluation and GRPO rounds (TRL).

The package itself imports nothing: import its modules (`teachloop.training.grpo`, ...), so
configuration code can use `GRPOSettings` without loading the whole student stack. No UI here: long operations report through
optional `on_progress(done, total)` callbacks.
"""
