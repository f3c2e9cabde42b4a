"""`make bench` and `make capacity`: the stack's figures side by side, and what to run for a load."""

from polls_loadtest.stack import Stack

STACK = Stack.named("bench")
