"""Datasets, augmentation pipelines and previews (no Qt here, see DESIGN.md).

Public entry points live in the submodules so that importing the package stays
cheap: ``app.data.sources`` (registry, ``load_source``, splits, loaders),
``app.data.augment`` (step registry, pipeline compiler) and
``app.data.preview`` (display-ready samples).
"""
