"""mhc_verify.plot_file: plots are written as palette PNGs (a results folder travels to the lent GPU with the tree,
64 MiB in all), with every colour the figure drew kept."""

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def test_a_line_plot_is_written_on_a_palette_and_keeps_its_colours(tmp_path):
    import matplotlib.pyplot as plt
    from PIL import Image

    from mhc_verify.plot_file import save_palette_png

    fig, ax = plt.subplots(figsize=(6, 3))
    colours = ["#1f77b4", "#ff7f0e", "#d62728"]
    for k, colour in enumerate(colours):
        ax.plot(range(10), [i * (k + 1) for i in range(10)], color=colour, linewidth=4)
    rgba = tmp_path / "rgba.png"
    fig.savefig(rgba, dpi=100)
    path = save_palette_png(fig, tmp_path / "plot.png", dpi=100)
    plt.close(fig)
    with Image.open(path) as image:
        assert image.mode == "P" and image.size == Image.open(rgba).size
        seen = {"#%02x%02x%02x" % rgb for _, rgb in image.convert("RGB").getcolors(maxcolors=1 << 16)}
    assert set(colours) <= seen, "each line's colour, exactly"
    assert path.stat().st_size < rgba.stat().st_size
