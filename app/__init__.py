"""The self-hosted GitHub App: webhooks in, sessions out (started by `autocoder serve`)."""
