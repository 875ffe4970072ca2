"""Qt-free analysis of runs: health coach, run history and store, diffs, evaluation.

The GUI's panels and the CLI both read these, so one network gets one verdict.
"""
