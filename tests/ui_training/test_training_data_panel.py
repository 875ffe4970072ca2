"""The Data panel and the augmentation editor, against the real window."""

from __future__ import annotations

from tests.ui_training.ui_training_helpers import DIGITS_8X8, MOONS, tiny_cnn, tiny_mlp


def test_source_form_split_and_iterations(qtbot, make_window):
    window, docks = make_window(tiny_mlp(), MOONS, {"batch_size": 16})
    panel = docks.data_panel
    qtbot.waitUntil(lambda: panel.bundle is not None, timeout=60_000)
    assert set(panel.params.editors) == {"n_samples", "noise", "seed"}
    assert panel.sizes.text() == "train 150 · validation 50 · test 0"
    assert panel.iterations.text().startswith("150 samples, batch 16: 10 iterations")
    docks.training_panel.batch.setValue(50)
    assert "3 iterations per epoch" in panel.iterations.text()
    panel.val_fraction.setValue(0.5)
    assert window.project.data["split"]["val_fraction"] == 0.5
    qtbot.waitUntil(lambda: panel.sizes.text().startswith("train 100"), timeout=60_000)
    # another source: its own form, a table for tabular data
    panel.source.setCurrentIndex(panel.source.findData("iris"))
    assert set(panel.params.editors) == {"standardize"}
    assert window.project.data["source"] == "iris"
    qtbot.waitUntil(lambda: panel.samples.currentWidget() is panel.table, timeout=60_000)
    assert panel.table.rowCount() == 16 and panel.table.columnCount() == 5
    assert not window.session.stack.isClean()  # settings changes are unsaved changes


def test_bad_parameter_is_explained(qtbot, make_window):
    _window, docks = make_window(tiny_mlp(), MOONS)
    panel = docks.data_panel
    assert panel.params.params[1].name == "noise"
    edit = panel.params.editors["noise"].field
    edit.setText("10")
    edit.editingFinished.emit()
    assert panel.params.check() and panel.params.values()["noise"] == 10.0
    edit.setText("11")
    edit.editingFinished.emit()
    assert not panel.params.check() and "noise must be <= 10" in panel.params.problem
    from app.core.params import FLOATS, Param
    from app.ui.param_form import ParamForm
    form = ParamForm()
    form.set_params([Param("w", FLOATS, [1.0], minimum=-5, maximum=5, scalar_ok=False)])
    form.editors["w"].field.setText("1, 9")
    form.editors["w"].field.editingFinished.emit()
    assert not form.check() and "w must be <= 5" in form.problem
    assert form.values() == {"w": [1.0]}  # the refused edit is not taken


def test_augmentation_editor_edits_and_previews(qtbot, make_window):
    window, docks = make_window(tiny_cnn(), DIGITS_8X8)
    panel, editor = docks.data_panel, docks.data_panel.augment
    qtbot.waitUntil(lambda: bool(editor.raw), timeout=60_000)
    assert panel.samples.currentWidget() is panel.image_grid_widget
    assert panel.image_grid.count() == 16
    editor.add_step("RandomRotation")
    editor.add_step("RandomHorizontalFlip")
    assert [s["type"] for s in window.project.data["train_transforms"]] == [
        "RandomRotation", "RandomHorizontalFlip"]
    editor.move_step(1, 0)  # what a drag does
    assert window.project.data["train_transforms"][0]["type"] == "RandomHorizontalFlip"
    editor.set_enabled(0, False)
    assert window.project.data["train_transforms"][0]["enabled"] is False
    # edit a parameter through the generated form
    editor.steps.setCurrentRow(1)
    degrees = editor.form.editors["degrees"].field
    degrees.setText("45")
    degrees.editingFinished.emit()
    assert window.project.data["train_transforms"][1]["degrees"] == 45
    # the live grid refreshes after the debounce
    qtbot.waitUntil(lambda: getattr(editor, "previewed", 0) == 18, timeout=5_000)
    assert editor.grid.count() == 18
    # a misplaced step is refused with the reason, and the project keeps the last good one
    editor.add_step("RandomErasing")
    assert editor.problem() == ""  # the digits are float tensors: erasing is allowed
    editor.remove_step()
    editor.which.setCurrentIndex(1)  # evaluation pipeline
    assert editor.steps.count() == 0
    # normalisation presets and computed statistics
    editor.norm.setCurrentIndex(editor.norm.findData("MNIST"))
    assert window.project.data["eval_transforms"][-1]["preset"] == "MNIST"
    assert window.project.data["train_transforms"][-1]["type"] == "Normalize"
    with qtbot.waitSignal(editor.changed, timeout=60_000):
        editor.compute_stats()
    qtbot.waitUntil(lambda: editor.stats is not None, timeout=60_000)
    mean, std = editor.stats
    assert len(mean) == 1 and 0 < mean[0] < 1 and 0 < std[0] < 1
    step = window.project.data["train_transforms"][-1]
    assert step["preset"] == "dataset" and step["mean"] == mean
    assert "mean [" in editor.stats_label.text()
