"""One module per API surface; each exposes `router`. `service.app` lists which are protected by the API key."""
