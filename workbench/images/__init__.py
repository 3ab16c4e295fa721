"""Images: source validation, PNG metadata, terminal previews and contact sheets."""
