"""Training inside the editor: data and training panels, live plots, try-the-model.

Entry point: `docks.install_training_docks(window)`.
"""
