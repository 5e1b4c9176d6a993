"""Writing a matplotlib figure as a palette PNG.

Plots land in results folders that travel to the lent GPU with the tree (64 MiB in all, the
`.gpu-site` bundles taking 45 of it) and stay in the repository. matplotlib writes RGBA (4 bytes a
pixel before compression: a 1716 x 836 benchmark plot is about 200 KB); the same image on a
256-colour palette is about 65 KB. A line plot draws a few dozen colours and a colormap at most 256, so
what a reader sees stays (tests/test_plot_file.py: every line colour kept exactly)."""

from __future__ import annotations

from pathlib import Path

PALETTE_COLOURS = 256


def save_palette_png(fig, path: str | Path, dpi: int) -> Path:
    """``fig.savefig(path, dpi=dpi)``, then the file rewritten on a PALETTE_COLOURS palette."""
    from PIL import Image

    path = Path(path)
    fig.savefig(path, dpi=dpi)
    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    palette.save(path, optimize=True)
    return path
