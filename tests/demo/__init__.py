"""`python -m tests.demo`: watch autocoder turn a labelled issue into a pull request, offline.

It starts the GitHub emulator (tests/emulator), a scripted model (tests/scripted_model, playing
`tests/demo/scripts/<engine>.json`) and a real `autocoder serve` subprocess, all on free
loopback ports with a temporary state directory; creates a repository with a little code; opens
and labels an issue as a maintainer; and prints, as they happen, the check run, the issue comment,
the pull request and its diff.

Why `python -m tests.demo` and not an `autocoder demo` subcommand: the emulator and the scripted
model servers are test code. They live in `tests/`, are not part of the installed package, and
should not be: a subcommand would have to ship them (and their dependencies) to every user of
`autocoder`, or fail outside a clone. The demo is for someone with a clone, like the test bench.

Files: `__main__.py` the command line · `stack.py` starting and stopping the three processes ·
`seed.py` the demo repository and issue · `watch.py` polling what GitHub shows and saying what
changed · `scripts/` the model's part, one script per engine.
"""
