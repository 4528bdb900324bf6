"""Engines: the model side of a session, behind one interface (`runner.engines.base.Engine`)."""
