"""The GitHub Action's glue: Actions environment and event in, runner session, summary out."""
