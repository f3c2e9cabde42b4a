"""Failure drills: knock services of the polls stack out under open-loop load and judge what users saw."""
