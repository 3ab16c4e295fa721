"""Images: PNG metadata, terminal previews and contact sheets."""
