"""Live training plots, one module per plot; all share PlotPanel (PNG and CSV export)."""
