"""Reading and writing data: heatmap caches, dataset folders, COCO annotations.

Modules: :mod:`~daec_viz.io.schema`, :mod:`~daec_viz.io.reader` and
:mod:`~daec_viz.io.writer` (the heatmap cache), :mod:`~daec_viz.io.paths` (where generated
data goes),
:mod:`~daec_viz.io.datasets` (``load_dataset``, :class:`~daec_viz.io.datasets.Dataset`),
:mod:`~daec_viz.io.coco_format` (COCO constants and the annotation builder).
"""
