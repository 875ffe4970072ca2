"""Error types of the training engine; every message is one readable line."""


class ConfigError(ValueError):
    """A TrainConfig field is invalid; the message starts with the field's path."""


class TrainingError(RuntimeError):
    """The run cannot go on (bad targets for the loss, NaN loss, device trouble...)."""
