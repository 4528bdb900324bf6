"""A spec issue's features, run one after another (issue #13): the relations mirrored from
GitHub (`relations`), the pure choice and progress text (`plan`), the sequence's state and its
next job (`sequencer`, called from the webhook handler and the worker's outcome), and what the
server keeps current in the background (`loop`: the spec's progress comment and the
`test_progress` notifications of `notify`)."""
