"""The App's HTTP API besides the webhook: health, metrics, features, sessions."""
