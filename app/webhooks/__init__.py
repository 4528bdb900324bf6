"""GitHub webhooks: signature, the route, delivery records and what each decision does."""
