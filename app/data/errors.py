"""Error types shared by the data modules."""


class DataSourceError(ValueError):
    """One-line, readable message naming the source, field or file at fault."""


class AugmentError(DataSourceError):
    """An augmentation step or its parameters are invalid; names step and field."""
