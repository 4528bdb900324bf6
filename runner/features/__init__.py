"""Features as GitHub issues (issue #13): the body format, the queue's decisions, the store that
writes through to GitHub, and the nine feature tools both engines offer on a feature task.

`body`, `queue` and `model` are pure; `store` does the I/O through `runner.github.issue_graph`;
`tools` turns it into `ToolSpec`s for `EngineRequest.extra_tools`.
"""
