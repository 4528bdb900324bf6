"""The project assistant: a conversation with the model about one repository, in a side panel
of its board page.

The model reads the repository's code through read-only tools on the default branch's mirror
(`reader`: read_file, list_directory, search; no command runs, nothing is written) and manages
features through the feature tools, but every change it asks for is only a proposal
(`proposals`): the page shows it in words and it is written to GitHub when the person confirms
it. Messages and proposals are kept in the database (`store`), so a conversation resumes where
the person left it. The turn itself is `loop`; its routes are `routes`.
"""
