"""What a session tells people: the check run, the issue comment, the pull request body."""
