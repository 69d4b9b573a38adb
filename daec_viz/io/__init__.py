"""Reading and writing data: heatmap caches, dataset folders, COCO annotations.

Modules: :mod:`~daec_viz.io.cache` (the cache schema, reader and writer),
:mod:`~daec_viz.io.datasets` (``load_dataset``, :class:`~daec_viz.io.datasets.Dataset`),
:mod:`~daec_viz.io.coco_format` (COCO constants and the annotation builder).
"""
