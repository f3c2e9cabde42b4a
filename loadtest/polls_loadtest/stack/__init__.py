"""The compose stacks of this repository, driven from Python (compose.py), and the CPU and memory
their containers use (usage.py)."""

from polls_loadtest.stack.compose import Container, Stack, StackError, docker

__all__ = ["Container", "Stack", "StackError", "docker"]
