"""A report as an ipywidgets Tab (Summary, Connections, Timeline, Map, Storyboard), with the
storyboard editor and the analyst's High/Medium/Low buttons. One widget per report, never one
per row."""

from __future__ import annotations

from spot_lab.display.figures import map_frame, map_options, map_png, profile_png, timeline_png
from spot_lab.display.html import notebook_html, styled, summary_html, tables_html
from spot_lab.errors import SpotLabError


def show(report) -> None:
    """Display the report: the widget where widgets run, with its HTML twin for nbconvert."""
    from IPython.display import display

    widget = report_widget(report) if widget_frontend() else None
    if widget is None:
        display({"text/html": notebook_html(report), "text/plain": report.five_ws()}, raw=True)
        return
    bundle = widget._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    bundle["text/html"] = notebook_html(report)  # what nbconvert shows without widget state
    display(bundle, raw=True)


def report_widget(report):
    """The tabbed widget: Summary, Connections, Timeline, Map, Storyboard."""
    import ipywidgets as w

    summary = w.HTML(styled(summary_html(report)))
    tables = w.HTML(styled(tables_html(report, 20)))
    images = [png for png in (timeline_png(report), profile_png(report)) if png]
    timeline = (
        w.VBox([w.Image(value=png, format="png") for png in images])
        if images
        else w.HTML("No timeline.")
    )
    tab = w.Tab(
        children=[summary, tables, timeline, _map_widget(report), _storyboard_widget(report)]
    )
    for i, title in enumerate(["Summary", "Connections", "Timeline", "Map", "Storyboard"]):
        tab.set_title(i, title)
    return tab


def _map_widget(report):
    import ipywidgets as w

    frame = map_frame(report)
    if frame.empty:
        return w.HTML("No geolocated external endpoints.")
    try:
        from spot_lab.display.maps import endpoints_map

        return endpoints_map(frame, **map_options(report))
    except ImportError:
        png = map_png(report)
        return w.Image(value=png, format="png") if png else w.HTML("No map.")


def _storyboard_widget(report):
    import ipywidgets as w

    title = w.Text(value=report.storyboard_title, description="Title", layout=w.Layout(width="95%"))
    text = w.Textarea(
        value=report.storyboard_text,
        description="Text",
        layout=w.Layout(width="95%", height="140px"),
    )
    save = w.Button(description="Save storyboard", button_style="primary")
    status = w.Label()

    def on_save(_):
        try:
            report.save_storyboard(title.value, text.value)
            status.value = f"saved for {report.anchor} on {report.day}"
        except (SpotLabError, OSError) as exc:  # said on the widget, never lost in a log
            status.value = f"not saved: {exc}"

    save.on_click(on_save)
    buttons = []
    for sev, (label, style) in {
        1: ("High", "danger"),
        2: ("Medium", "warning"),
        3: ("Low", "success"),
    }.items():
        button = w.Button(description=label, button_style=style, layout=w.Layout(width="90px"))

        def on_score(_, sev=sev, label=label):
            try:
                written = report.score(sev)
                rows = f": {written} rows" if isinstance(written, int) else ""
                status.value = f"scored {label} ({sev}){rows}"
            except (SpotLabError, ImportError, OSError) as exc:
                status.value = f"not scored: {exc}"

        button.on_click(on_score)
        buttons.append(button)
    return w.VBox([title, text, w.HBox([save, w.Label("Analyst score:"), *buttons]), status])


def widget_frontend() -> bool:
    """True inside a Jupyter kernel with ipywidgets importable (not a terminal IPython)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None
