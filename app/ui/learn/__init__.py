"""The Learn menu's windows: optimizer playground, activation explorer, gradient check,
and the Evaluate mode's saliency panel. Each imports torch, so each loads when opened."""
