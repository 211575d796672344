"""certificates: Bronze/Silver/Gold levels as signed Open Badges 3.0 credentials."""

__all__: list[str] = []
