"""The HTTP API's blueprints and the helpers every handler shares."""
