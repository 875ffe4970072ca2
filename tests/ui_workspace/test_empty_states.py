"""Before any run the Train and Evaluate widgets say what will appear there (a message
page), never empty axes; after a run they show their plots; opening another network
empties them again."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from tests.ui_workspace.test_workspace import load_moons, run_to_end


def panels(docks):
    """Every Train / Evaluate widget that has nothing to show before a run."""
    return {"histograms": docks.histograms, "gradient norms": docks.grad_norms,
            "activations": docks.activations, "health": docks.health,
            "confusion": docks.confusion, "boundary": docks.boundary,
            "compare": docks.compare, "try the model": docks.try_model}


def show_tab(window, panel) -> None:
    docks = window.training_docks
    for mode, tabs in (("train", docks.tabs), ("evaluate", docks.eval_tabs)):
        if tabs.indexOf(panel) >= 0:
            window.set_mode(mode)
            tabs.setCurrentWidget(panel)
    QCoreApplication.processEvents()


def test_before_a_run_each_panel_shows_a_message(qtbot, make_window) -> None:
    window = make_window((1366, 768))
    docks = window.training_docks
    for name, panel in panels(docks).items():
        show_tab(window, panel)
        assert panel.showing_message, name
        assert panel.message.isVisible(), name
        assert "Train the network (F5)" in panel.message.text(), name
    show_tab(window, docks.confusion)
    assert not docks.confusion.plot.isVisible()  # no empty -400..400 matrix
    assert "confusion matrix" in docks.confusion.message.text()
    assert not any(b.isEnabled() for b in docks.confusion.save_buttons)  # nothing to save
    show_tab(window, docks.try_model)
    assert not docks.try_model.chart.isVisible()
    # the curves keep their (empty) axes, so the student sees where each curve will go
    show_tab(window, docks.curves)
    assert docks.curves.loss.isVisible() and "Train (F5)" in docks.curves.note.text()
    names = [label.text for _s, label in docks.curves.loss.getPlotItem().legend.items]
    assert "validation" in names  # the legend names the curves to come
    docks.training_panel.epochs.setValue(7)
    low, high = docks.curves.acc.getViewBox().viewRange()[0]
    assert low < 0.5 and 6.9 < high < 7.5  # the epochs the run will train, not 0…1


def test_after_a_run_the_plots_replace_the_messages(qtbot, make_window) -> None:
    window = make_window((1366, 768))
    load_moons(window, {"epochs": 2, "batch_size": 32})
    docks = window.training_docks
    run_to_end(qtbot, window)
    for name, panel in panels(docks).items():
        show_tab(window, panel)
        docks.refresh(force=True)
        assert not panel.showing_message, name
        assert not panel.message.isVisible(), name
    # switching tabs redraws, but the toolbar keeps the run's result, not "ETA 00:00"
    assert "completed" in window.run_status.text()
    # one run: nothing to compare it with yet, and no "run 1 <-> run 1: same settings"
    assert "train again" in docks.compare.settings_title.text()
    assert docks.compare.settings.rowCount() == 0 and docks.compare.graph_title.text() == ""
    show_tab(window, docks.confusion)
    assert docks.confusion.plot.isVisible()
    assert docks.confusion.matrix.sum() == 100  # the 25% of 400 moons held out
    assert all(b.isEnabled() for b in docks.confusion.save_buttons)
    show_tab(window, docks.try_model)
    assert docks.try_model.chart.isVisible() and "Predicted" in docks.try_model.answer.text()
    assert docks.histograms.image.image is not None

    # another network: its plots start empty again (the old run was not its run)
    window.open_template("mlp")
    QCoreApplication.processEvents()
    assert docks.run is None
    for name, panel in panels(docks).items():
        if panel is not docks.compare:  # lists the new project's stored runs: none
            assert panel.showing_message, name
    assert docks.compare.showing_message and docks.compare.list.count() == 0
    x, _y = docks.curves.items["train_loss"].getData()
    assert x is None or len(x) == 0


def test_a_run_without_validation_says_why_there_is_no_matrix(qtbot) -> None:
    from app.analysis.run_history import RunHistory
    from app.ui.training.plots.confusion import ConfusionPanel

    panel = ConfusionPanel()
    qtbot.addWidget(panel)
    panel.show()
    run = RunHistory("run 1", {}, {}, {})
    panel.refresh(run)
    assert panel.showing_message and "after the first epoch" in panel.message.text()
    run.status = "completed"
    run.version += 1
    panel.refresh(run, force=True)
    assert "validation set" in panel.message.text()
