"""Headless training engine (no Qt here, see DESIGN.md).

Entry points: `TrainConfig` (config.py), `Trainer` (trainer.py), the event dataclasses
(events.py), the registries `LOSSES`, `OPTIMIZERS`, `SCHEDULERS`, `INITS`, and
`list_devices()` (devices.py). Import them from their modules; importing this package
stays cheap.
"""
