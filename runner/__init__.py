"""Everything needed to turn one task (an issue) into one pull request.

No web server, no database; imports neither `app` nor `action`.
"""
